package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/cmd/internal/api"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/cmd/internal/config"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
)

func newRoutesCmd(environ []string) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "routes",
		Short: "List the routes the sidecar owns in ZooKeeper",
		Long: `List the routes the sidecars own, read from ZooKeeper (--traefik-zk-ips).
Needs no token; the key secret is not used.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, environ)
			if err != nil {
				return err
			}
			// Listing needs no key secret.
			reader, closeStore, err := openReader(cmd.Context(), cfg, newLogger(cfg, cmd.ErrOrStderr()))
			if err != nil {
				return err
			}
			defer closeStore()
			routes, err := reader.Routes()
			if err != nil {
				return fmt.Errorf("list routes: %w", err)
			}
			if asJSON {
				views, err := api.NewViews(cfg.PublicURL)
				if err != nil {
					return err
				}
				return writeJSON(cmd.OutOrStdout(), api.RoutesResponse{Routes: views.Routes(routes)})
			}
			return printRoutes(cmd.OutOrStdout(), routes)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (the shape of GET /v1/routes)")
	config.RegisterFlags(cmd.Flags(), routesSettings...)
	return cmd
}

// printRoutes writes routes as an aligned table.
func printRoutes(w io.Writer, routes []state.Route) error {
	if len(routes) == 0 {
		_, err := fmt.Fprintln(w, "no routes")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EXECUTION\tSERVICE\tPORT\tBACKEND\tROUTER\tPATH OR HOST")
	for _, r := range routes {
		v := api.Views{}.Route(r)
		backend := v.Backend
		if backend == "" {
			backend = "(stopped)"
		}
		where := r.Path
		if r.Host != "" {
			where = r.Host
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ExecutionID, r.Service, strconv.Itoa(r.Port), backend, v.Router, where)
	}
	return tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
