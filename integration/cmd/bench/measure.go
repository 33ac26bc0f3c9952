package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// change makes one change and returns the path to poll through Traefik and
// how long the write itself took (for the sidecar: the hook's response time).
type change func(ctx context.Context) (path string, write time.Duration, err error)

// startChange posts the start hook of execution id (one route) and polls
// that route's path.
func startChange(h *hooks, id string) change {
	return func(ctx context.Context) (string, time.Duration, error) {
		r, took, err := h.start(ctx, id)
		if err != nil {
			return "", 0, err
		}
		return r.Routes[0].Path + "/", took, nil
	}
}

// maxAttempts bounds the repetitions of a measurement that Traefik's
// ZooKeeper session trouble spoiled.
const maxAttempts = 3

// measure takes one measurement: all Traefiks idle, then the change, then
// polling its path through o until it answers want. prepare returns the
// routes present before the change and the change itself; it is called
// again, with the attempt number, when an attempt is discarded because
// Traefik's ZooKeeper session broke meanwhile (its client logs it) or its
// provider stopped reacting (Traefik is then restarted).
func (b *bench) measure(ctx context.Context, section, variant string, size, rep int, o *traefikObs, all []*traefikObs, want int,
	prepare func(ctx context.Context, attempt int) (int, change, error)) error {
	for attempt := 1; ; attempt++ {
		present, ch, err := prepare(ctx, attempt)
		if err != nil {
			return err
		}
		if err := idle(ctx, all...); err != nil {
			return err
		}
		mctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
		p0 := packetsNow(b.res.servers)
		cpu0, cpuErr0 := cpuTicks(o.traefik().Pid())
		if b.cfg.pprof != "" && rep == 2 && (size == b.cfg.ratioAt && (section == secServed || section == secServedLeader) ||
			size == b.cfg.targetLarge && (section == secPaths || section == secFloor)) {
			b.profileTraefik(ctx, o, section, variant, size)
		}
		t0 := time.Now()
		path, write, err := ch(mctx)
		if err != nil {
			cancel()
			return err
		}
		t1, err := o.wait(mctx, path, want, t0)
		cancel()
		if errors.Is(err, errStalled) && attempt < maxAttempts {
			b.res.discarded++
			b.progress("%s %s, %d routes, rep %d: discarded, %v; restarting Traefik %s", section, variant, present, rep, err, o.name)
			if err := o.restart(ctx); err != nil {
				return err
			}
			if err := o.settle(ctx, path, want, b.progress); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		p1 := packetsNow(b.res.servers)
		cpu1, cpuErr1 := cpuTicks(o.traefik().Pid())
		if cpuErr0 != nil || cpuErr1 != nil {
			cpu0, cpu1 = 0, -1 // delta reports -1: not recorded
		}
		if why := o.disturbedBetween(t0, t1); why != "" && attempt < maxAttempts {
			b.res.discarded++
			b.progress("%s %s, %d routes, rep %d: discarded after %s, Traefik's ZooKeeper session was disturbed meanwhile: %s",
				section, variant, present, rep, t1.Sub(t0).Round(time.Millisecond), shortLine(why))
			continue
		}
		b.servedRecord(section, variant, size, present, rep, o, t0, t1, write, delta(p0, p1), delta(cpu0, cpu1))
		return nil
	}
}

func shortLine(s string) string {
	if i := strings.Index(s, "> "); i >= 0 {
		s = s[i+2:]
	}
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// servedRecord records one measurement with its breakdown from Traefik's
// log (when its walk started, when its configuration arrived) and the
// ZooKeeper requests spent meanwhile.
func (b *bench) servedRecord(section, variant string, size, present, rep int, o *traefikObs, t0, t1 time.Time, write time.Duration, packets, cpuTicks int64) {
	add := func(metric string, v float64, unit string) {
		b.res.add(sample{Section: section, Variant: variant, Routes: size, Present: present, Rep: rep, Metric: metric, Value: v, Unit: unit})
	}
	total := t1.Sub(t0)
	add("served", ms(total), "ms")
	add("write", ms(write), "ms")
	walks := 0
	var firstList, firstConfig time.Duration = -1, -1
	for _, e := range o.eventsSince(t0) {
		if e.at.After(t1) {
			break
		}
		switch e.kind {
		case "list":
			walks++
			if firstList < 0 {
				firstList = e.at.Sub(t0)
			}
		case "config":
			// A KV provider's configuration follows its walk; the HTTP
			// provider's follows its fetch, and it walks nothing.
			if (firstList >= 0 || o.http != nil) && firstConfig < 0 {
				firstConfig = e.at.Sub(t0)
			}
		}
	}
	add("walks", float64(walks), "count")
	if firstList >= 0 {
		add("walk_started", ms(firstList), "ms")
	}
	if firstConfig >= 0 {
		add("config_received", ms(firstConfig), "ms")
	}
	if packets >= 0 {
		add("zk_requests", float64(packets), "count")
	}
	if cpuTicks >= 0 {
		add("traefik_cpu", float64(cpuTicks*10), "ms")
	}
	detail := ""
	if firstList >= 0 && firstConfig >= 0 {
		detail = fmt.Sprintf("; Traefik walk began +%s, configuration received +%s",
			firstList.Round(time.Millisecond), firstConfig.Round(time.Millisecond))
	}
	b.progress("%s %s, %d routes, rep %d: %s (write %s, %d walk(s), %d ZooKeeper requests%s)",
		section, variant, present, rep, total.Round(time.Millisecond), write.Round(10*time.Microsecond), walks, packets, detail)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
