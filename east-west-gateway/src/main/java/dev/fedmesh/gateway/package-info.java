/**
 * The east-west gateway: the door through which other networks reach a cluster's exported services.
 */
package dev.fedmesh.gateway;
