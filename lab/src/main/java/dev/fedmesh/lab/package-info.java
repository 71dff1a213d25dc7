/** The local lab's runtime: starts a real mesh on one machine, with no Docker. */
package dev.fedmesh.lab;
