// Package integration holds the end-to-end tests: a real ZooKeeper ensemble,
// a real Traefik and the sidecar, exercised by sending HTTP through Traefik.
// `make test` runs them (it sets ZK_SIDECAR_INTEGRATION=1); the harness
// they use lives in integration/harness.
package integration
