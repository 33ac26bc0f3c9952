package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/cmd/internal/api"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/cmd/internal/config"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
)

func newSyncCmd(environ []string) *cobra.Command {
	var (
		path           string
		dryRun, asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "sync --file executions.json [--dry-run]",
		Short: "Make ZooKeeper's routes match a list of running executions",
		Long: `Read {"executions": [...]} (the body of PUT /v1/executions) and make the
routes the sidecar owns match it exactly: missing routes are created, changed
ones updated, and the routes of executions not listed are stopped. Routes the
sidecar did not write are never touched. --dry-run prints the plan only.
Needs --traefik-zk-ips and the key secret; "-" reads standard input.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, environ)
			if err != nil {
				return err
			}
			executions, err := readExecutions(path, cmd.InOrStdin())
			if err != nil {
				return err
			}
			deriver, err := cfg.Deriver()
			if err != nil {
				return err
			}
			writer, closeStore, err := openWriter(cmd.Context(), cfg, deriver, newLogger(cfg, cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			defer closeStore()
			if !dryRun {
				if err := writer.Init(); err != nil {
					return fmt.Errorf("initialise znodes: %w", err)
				}
				defer writer.Start(cmd.Context())()
			}
			sp, syncErr := writer.Sync(cmd.Context(), executions, dryRun)
			var fe *execution.FieldError
			if errors.As(syncErr, &fe) {
				return fmt.Errorf("--file %s: %w", path, syncErr)
			}
			if sp.Plans == nil && syncErr != nil {
				return syncErr
			}
			w := cmd.OutOrStdout()
			if asJSON {
				views, err := api.NewViews(cfg.PublicURL)
				if err != nil {
					return err
				}
				if err := writeJSON(w, views.Sync(sp, dryRun)); err != nil {
					return err
				}
			} else if err := printPlan(w, sp, dryRun); err != nil {
				return err
			}
			if syncErr != nil {
				return fmt.Errorf("sync incomplete (the plan above was not fully applied; running sync again is safe): %w", syncErr)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&path, "file", "f", "", `JSON file {"executions": [...]}; "-" for standard input`)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan, write nothing")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the shape of PUT /v1/executions' answer)")
	config.RegisterFlags(cmd.Flags(), syncSettings...)
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

// readExecutions decodes {"executions": [...]}; the list must be present
// (an empty one stops every route, a missing one is more likely a mistake).
func readExecutions(path string, stdin io.Reader) ([]execution.Execution, error) {
	var r io.Reader = stdin
	name := "standard input"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("--file: %w", err)
		}
		defer f.Close()
		r, name = f, path
	}
	var body struct {
		Executions *[]execution.Execution `json:"executions"`
	}
	data, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// As strict as PUT /v1/executions: a misspelt key is an error.
	if err := api.DecodeStrict(data, &body); err != nil {
		return nil, fmt.Errorf("%s: not {\"executions\": [...]}: %w", name, err)
	}
	if body.Executions == nil {
		return nil, fmt.Errorf(`%s: no "executions" list; want {"executions": [...]} (an empty list stops every route)`, name)
	}
	return *body.Executions, nil
}

// printPlan writes one block per execution: + create, ~ update, - delete.
func printPlan(w io.Writer, sp provider.SyncPlan, dryRun bool) error {
	ids := make([]string, 0, len(sp.Plans))
	for id := range sp.Plans {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var b strings.Builder
	where := func(r api.RouteView) string {
		if r.Host != "" {
			return r.Host
		}
		return r.Path
	}
	for _, id := range ids {
		p := sp.Plans[id]
		v := api.Views{}.Plan(p)
		fmt.Fprintf(&b, "execution %s: %d to create, %d to update, %d to delete\n", id, len(v.Create), len(v.Update), len(v.Delete))
		for _, r := range v.Create {
			fmt.Fprintf(&b, "  + %s:%d %s -> %s\n", r.Service, r.Port, where(r), r.Backend)
		}
		// An update changes a running route's backend: show both.
		for _, c := range p.Update {
			old, now := api.Views{}.Route(c.Old), api.Views{}.Route(c.New)
			fmt.Fprintf(&b, "  ~ %s:%d %s %s -> %s\n", now.Service, now.Port, where(now), old.Backend, now.Backend)
		}
		for _, r := range v.Delete {
			fmt.Fprintf(&b, "  - %s:%d %s\n", r.Service, r.Port, where(r))
		}
	}
	switch {
	case len(ids) == 0:
		b.WriteString("nothing to change\n")
	case dryRun:
		fmt.Fprintf(&b, "dry run: %d executions would change; nothing written\n", len(ids))
	default:
		fmt.Fprintf(&b, "%d executions changed\n", len(ids))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
