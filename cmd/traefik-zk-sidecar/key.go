package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/cmd/internal/config"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/execution"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
)

// keyOutput is the key command's JSON answer.
type keyOutput struct {
	ExecutionID string            `json:"execution_id"`
	Service     string            `json:"service"`
	Port        int               `json:"port"`
	Key         string            `json:"key"`
	Path        string            `json:"path"`
	Host        string            `json:"host,omitempty"`
	Env         map[string]string `json:"env"`
}

func newKeyCmd(environ []string) *cobra.Command {
	var (
		executionID, service string
		port                 int
		asJSON               bool
	)
	cmd := &cobra.Command{
		Use:   "key --execution ID --service NAME --port N",
		Short: "Print the key, public path and REVERSE_PROXY_PATH_<port> of one port (offline)",
		Long: `Print the route key of one proxied port, its public path, the environment
line REVERSE_PROXY_PATH_<port>=<path> the application needs, and in host
routing its host name. Offline: it needs the key secret, the deployment name
and the routing settings, not ZooKeeper.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, environ)
			if err != nil {
				return err
			}
			route, err := deriveRoute(cfg, executionID, service, port)
			if err != nil {
				return err
			}
			out := keyOutput{
				ExecutionID: route.ExecutionID, Service: route.Service, Port: route.Port,
				Key: route.Key, Path: route.Path, Host: route.Host,
				Env: map[string]string{execution.EnvName(route.Port): route.Path},
			}
			w := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(w, out)
			}
			fmt.Fprintf(w, "key   %s\n", out.Key)
			fmt.Fprintf(w, "path  %s\n", out.Path)
			if out.Host != "" {
				fmt.Fprintf(w, "host  %s\n", out.Host)
			}
			_, err = fmt.Fprintf(w, "env   %s=%s\n", execution.EnvName(out.Port), out.Path)
			return err
		},
	}
	cmd.Flags().StringVar(&executionID, "execution", "", "execution id")
	cmd.Flags().StringVar(&service, "service", "", "service instance name, e.g. jupyter0")
	cmd.Flags().IntVar(&port, "port", 0, "container port number (the ZApp port_number)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	config.RegisterFlags(cmd.Flags(), keySettings...)
	for _, f := range []string{"execution", "service", "port"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

// deriveRoute computes one port's route the way the provider does, through
// execution.Routes on a one-port execution.
func deriveRoute(cfg config.Config, executionID, service string, port int) (state.Route, error) {
	deriver, err := cfg.Deriver()
	if err != nil {
		return state.Route{}, err
	}
	settings, err := cfg.ExecutionSettings()
	if err != nil {
		return state.Route{}, err
	}
	e := &execution.Execution{
		ID: execution.ID(executionID),
		Services: []execution.Service{{
			Name:  service,
			Ports: []execution.Port{{PortNumber: port, Proxy: true}},
		}},
	}
	routes, err := execution.Routes(e, settings, deriver, false)
	if err != nil {
		return state.Route{}, flagError(err)
	}
	if len(routes) != 1 {
		return state.Route{}, fmt.Errorf("expected one route, got %d", len(routes))
	}
	return routes[0], nil
}

// flagError names the command-line flag behind a field of the one-port
// execution key builds.
func flagError(err error) error {
	var fe *execution.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	flag := ""
	switch {
	case fe.Field == "execution.id":
		flag = "--execution"
	case strings.HasSuffix(fe.Field, ".name"):
		flag = "--service"
	case strings.HasSuffix(fe.Field, ".port_number"):
		flag = "--port"
	case strings.HasSuffix(fe.Field, "]"):
		// The route as a whole: the host name built from the parts.
		flag = "--service, --execution or --deployment-name"
	}
	if flag == "" {
		return err
	}
	return fmt.Errorf("invalid %s: %s", flag, fe.Message)
}
