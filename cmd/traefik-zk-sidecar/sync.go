package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/cmd/internal/api"
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
	dec := json.NewDecoder(io.LimitReader(r, 64<<20))
	if err := dec.Decode(&body); err != nil {
		return nil, fmt.Errorf("%s: not {\"executions\": [...]}: %w", name, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%s: trailing data after the JSON object", name)
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
	for _, id := range ids {
		v := api.Views{}.Plan(sp.Plans[id])
		fmt.Fprintf(&b, "execution %s: %d to create, %d to update, %d to delete\n", id, len(v.Create), len(v.Update), len(v.Delete))
		for _, group := range []struct {
			mark  string
			views []api.RouteView
		}{{"+", v.Create}, {"~", v.Update}, {"-", v.Delete}} {
			for _, r := range group.views {
				where := r.Path
				if r.Host != "" {
					where = r.Host
				}
				line := fmt.Sprintf("  %s %s:%d %s", group.mark, r.Service, r.Port, where)
				if group.mark != "-" && r.Backend != "" {
					line += " -> " + r.Backend
				}
				b.WriteString(line + "\n")
			}
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
