/** The per-pod sidecar proxy, driven by the Envoy xDS the controller serves. */
package dev.fedmesh.proxy;
