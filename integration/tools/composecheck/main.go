// Command composecheck validates the repository's docker-compose.yml and
// Dockerfile without a Docker engine (none runs on the development and CI
// machines):
//
//   - the compose file is loaded with compose-go, the library Docker Compose
//     v2 itself uses: schema validation, interpolation of ${VAR:-default},
//     normalisation and the consistency checks (depends_on, volumes and
//     secrets that must be declared);
//   - the Dockerfile goes through BuildKit's Dockerfile frontend, the code
//     `docker build --check` runs: parse, stage/ARG resolution and every lint
//     rule. Base images are not fetched: a stub answers their metadata.
//
// Usage, from this directory (its own module, so the root module's go.mod
// does not grow these dependencies):
//
//	go run . -compose ../../../docker-compose.yml -dockerfile ../../../Dockerfile [-print]
//
// Exit status 1 on any error or lint warning.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

func main() {
	composeFile := flag.String("compose", "", "compose file to validate")
	dockerfile := flag.String("dockerfile", "", "Dockerfile to validate")
	print := flag.Bool("print", false, "print the normalised compose project")
	flag.Parse()
	if *composeFile == "" && *dockerfile == "" {
		fmt.Fprintln(os.Stderr, "composecheck: give -compose FILE and/or -dockerfile FILE")
		os.Exit(2)
	}
	ctx := context.Background()
	failed := false
	if *composeFile != "" {
		if err := checkCompose(ctx, *composeFile, *print); err != nil {
			fmt.Fprintf(os.Stderr, "compose: %s: %v\n", *composeFile, err)
			failed = true
		}
	}
	if *dockerfile != "" {
		if err := checkDockerfile(ctx, *dockerfile); err != nil {
			fmt.Fprintf(os.Stderr, "dockerfile: %s: %v\n", *dockerfile, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

func checkCompose(ctx context.Context, path string, print bool) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return err
	}
	opts, err := cli.NewProjectOptions([]string{abs},
		cli.WithWorkingDirectory(filepath.Dir(abs)),
		cli.WithOsEnv,
		cli.WithDotEnv,
		cli.WithName("traefik-zk-sidecar"),
		cli.WithConsistency(true),
		cli.WithResolvedPaths(true),
		// Every profile: a service of an inactive profile (traefik-http of
		// http-provider) would otherwise be dropped before any check.
		cli.WithProfiles([]string{"*"}),
	)
	if err != nil {
		return err
	}
	project, err := opts.LoadProject(ctx)
	if err != nil {
		return err
	}
	if print {
		out, err := project.MarshalYAML()
		if err != nil {
			return err
		}
		os.Stdout.Write(out)
	}
	var lines []string
	for name, svc := range project.Services {
		var deps []string
		for dep, d := range svc.DependsOn {
			deps = append(deps, dep+"("+d.Condition+")")
		}
		sort.Strings(deps)
		health := "no healthcheck"
		if svc.HealthCheck != nil && !svc.HealthCheck.Disable {
			health = "healthcheck"
		}
		image := svc.Image
		if svc.Build != nil {
			image += " (build " + svc.Build.Dockerfile + ")"
		}
		lines = append(lines, fmt.Sprintf("  %-12s %-40s %-14s depends_on: %s", name, image, health, strings.Join(deps, " ")))
	}
	sort.Strings(lines)
	fmt.Printf("compose: %s: valid; %d services, %d volumes, %d secrets\n%s\n",
		path, len(project.Services), len(project.Volumes), len(project.Secrets), strings.Join(lines, "\n"))
	return nil
}

func checkDockerfile(ctx context.Context, path string) error {
	dt, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	platform := ocispecs.Platform{OS: "linux", Architecture: runtime.GOARCH}
	// The source map names the Dockerfile in findings; as in BuildKit's own
	// frontend it needs the definition of the state the file came from.
	src := llb.Local("dockerfile")
	def, err := src.Marshal(ctx)
	if err != nil {
		return err
	}
	sourceMap := llb.NewSourceMap(&src, filepath.Base(path), "Dockerfile", dt)
	sourceMap.Definition = def
	res, err := dockerfile2llb.DockerfileLint(ctx, dt, dockerfile2llb.ConvertOpt{
		Config: dockerui.Config{
			BuildArgs:       map[string]string{"VERSION": "v0.0.0-check"},
			TargetPlatforms: []ocispecs.Platform{platform},
			BuildPlatforms:  []ocispecs.Platform{platform},
		},
		SourceMap:    sourceMap,
		MetaResolver: stubResolver{},
	})
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		line := 0
		if len(w.Location.Ranges) > 0 {
			line = int(w.Location.Ranges[0].Start.Line)
		}
		fmt.Fprintf(os.Stderr, "dockerfile: %s:%d: %s: %s (%s)\n", path, line, w.RuleName, w.Detail, w.URL)
	}
	if res.Error != nil {
		return fmt.Errorf("%s", res.Error.Message)
	}
	if len(res.Warnings) > 0 {
		return fmt.Errorf("%d lint warnings", len(res.Warnings))
	}
	fmt.Printf("dockerfile: %s: parsed, all stages resolved, no lint warnings\n", path)
	return nil
}

// stubResolver answers base-image metadata without a registry: a Linux image
// with one layer, so that FROM resolves and no image is fetched.
type stubResolver struct{}

func (stubResolver) ResolveImageConfig(_ context.Context, ref string, opt sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	platform := ocispecs.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if opt.ImageOpt != nil && opt.ImageOpt.Platform != nil {
		platform = *opt.ImageOpt.Platform
	}
	cfg := map[string]any{
		"architecture": platform.Architecture,
		"os":           platform.OS,
		"rootfs":       map[string]any{"type": "layers", "diff_ids": []string{digest.FromString(ref).String()}},
		"config": map[string]any{
			"Env":        []string{"PATH=/usr/local/go/bin:/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
			"WorkingDir": "/go",
		},
	}
	dt, err := json.Marshal(cfg)
	if err != nil {
		return "", "", nil, err
	}
	return ref, digest.FromBytes(dt), dt, nil
}
