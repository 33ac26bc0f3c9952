package main

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
)

// bench holds what every phase needs.
type bench struct {
	cfg      config
	deadline time.Time
	sidecar  string // binary
	token    string
	secret   string
	backend  *harness.Backend
	res      *results
	progress func(format string, args ...any)
}

// startTraefik starts an observed Traefik reading from servers.
func (b *bench) startTraefik(ctx context.Context, name string, servers []string, root string) (*traefikObs, error) {
	return startTraefik(ctx, name, servers, root, b.cfg.throttle, b.cfg.pprof != "")
}

// profileTraefik records, in the background, a CPU profile of o lasting
// about as long as the first repetition of the same measurement took, into
// the -pprof directory.
func (b *bench) profileTraefik(ctx context.Context, o *traefikObs, section, variant string, size int) {
	first := b.res.values(section, variant, size, "served")
	if len(first) == 0 {
		return
	}
	seconds := int(math.Ceil(first[0] / 1000))
	url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", o.traefik().APIURL(), seconds)
	file := filepath.Join(b.cfg.pprof, fmt.Sprintf("traefik-%s-%s-%d.pprof", sectionTitle[section], variant, size))
	go func() {
		if err := fetchToFile(ctx, url, file); err != nil {
			b.progress("pprof: %v", err)
			return
		}
		b.progress("pprof: wrote %s (%d s of Traefik %s)", file, seconds, o.name)
	}()
}

func (b *bench) hooksFor(s *harness.Sidecar) *hooks {
	ip, port := b.backend.Addr()
	return &hooks{api: s.Client(harness.WithHTTPClient(client)), backendIP: ip, backendPort: port}
}

// startSidecar runs the sidecar binary on its own Traefik root and state
// root. Garbage collection is pushed out of the run (--gc-quiet-window=1h):
// a collection mid-measurement would add a reload of its own.
func (b *bench) startSidecar(ctx context.Context, servers []string, root string, extra ...string) (*harness.Sidecar, error) {
	return harness.StartSidecar(ctx, harness.SidecarOptions{
		Binary:    b.sidecar,
		Servers:   servers,
		RootKey:   root,
		StateRoot: "/" + root + "-state",
		Token:     b.token,
		KeySecret: b.secret,
		Args:      append([]string{"--gc-quiet-window=1h", "--log-level=warn"}, extra...),
	})
}

func ids(prefix string, from, to int) []string {
	out := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s%d", prefix, i))
	}
	return out
}

func (b *bench) noteTraefikTrouble(obs ...*traefikObs) {
	for _, o := range obs {
		if errs := o.errorsSoFar(); len(errs) > 0 {
			b.progress("Traefik %s logged %d session/provider problems, warnings or errors; first: %s", o.name, len(errs), errs[0])
			b.res.traefikErrors += len(errs)
		}
		o.mu.Lock()
		b.res.traefikRestarts += o.restarts
		b.res.serviceMissing += o.serviceMissing
		o.mu.Unlock()
	}
}

// burstReserve is the time kept for the burst phase and the report when
// deciding whether another repetition fits the budget.
const burstReserve = 2 * time.Minute

// fits tells whether something taking about d still fits the time budget.
func (b *bench) fits(d time.Duration) bool {
	return time.Until(b.deadline)-burstReserve > d*11/10
}

// note records a remark for the report and prints it.
func (b *bench) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	b.res.notes = append(b.res.notes, msg)
	b.progress("note: %s", msg)
}
