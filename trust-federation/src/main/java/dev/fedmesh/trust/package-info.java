/**
 * Certificate authority of the mesh: root, per-cluster intermediates and SPIFFE workload
 * certificates.
 */
package dev.fedmesh.trust;
