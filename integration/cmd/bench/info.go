package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/integration/harness"
)

func collectInfo(out string) runInfo {
	info := runInfo{CPUs: runtime.NumCPU(), Go: runtime.Version(), LoadBegin: loadAvg()}
	if b, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		info.Commit = strings.TrimSpace(string(b))
	} else {
		info.Commit = "unknown"
	}
	// Source not in the commit: changed tracked files and untracked Go
	// files or directories, except the bench's own output.
	if b, err := exec.Command("git", "status", "--porcelain").Output(); err == nil {
		outDir := filepath.ToSlash(filepath.Clean(out)) + "/"
		for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
			if len(line) < 4 {
				continue
			}
			f := strings.TrimSpace(line[3:])
			if strings.HasPrefix(f, outDir) || (strings.HasSuffix(f, "/") && strings.HasPrefix(outDir, f)) {
				continue // the bench's output, or an untracked directory holding it
			}
			if strings.HasPrefix(line, "??") {
				if !strings.HasSuffix(f, "/") && !strings.HasSuffix(f, ".go") {
					continue
				}
				f += " (untracked)"
			}
			info.Dirty = append(info.Dirty, f)
		}
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				info.CPUModel = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				if kb, err := strconv.ParseInt(strings.Fields(v)[0], 10, 64); err == nil {
					info.MemTotal = fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
				}
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		info.Kernel = strings.TrimSpace(string(b))
	}
	return info
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func (i runInfo) commitString() string {
	if len(i.Dirty) == 0 {
		return i.Commit
	}
	return i.Commit + "-dirty"
}

// traefikVersion is the release the harness builds; the binary, built from
// Traefik's Go module, reports itself as "dev".
func traefikVersion(context.Context) string { return harness.TraefikVersion }

func sidecarVersion(bin string) string {
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(strings.SplitN(string(out), "\n", 2)[0]), " ")
}

// redisVersion is redis-server's version line, e.g. "v=7.0.15".
func redisVersion() string {
	out, err := exec.Command("redis-server", "--version").Output()
	if err != nil {
		return "unknown"
	}
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, "v=") {
			return strings.TrimPrefix(f, "v=")
		}
	}
	return strings.TrimSpace(string(out))
}
