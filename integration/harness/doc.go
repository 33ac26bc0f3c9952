// Package harness starts the real components the sidecar works with — a
// ZooKeeper ensemble, a Traefik binary and plain HTTP backends — as child
// processes on 127.0.0.1, for integration tests, the demo and benchmarks;
// and Client, the one client of the sidecar's HTTP API they all use.
//
// Every child process is started in its own process group with
// Pdeathsig=SIGKILL, so that nothing outlives the test process even when it
// panics or is killed, and Close methods kill the whole process group. The
// package registers nothing global beyond that.
//
// Linux only (Pdeathsig, /proc).
package harness
