// Command demoapp is the demo application of the compose stack, standing in
// for a Zoe container such as a Jupyter notebook. It takes traefik/whoami's
// --port and --name flags (docker-compose.yml names that image for users) and
// answers every path with 200 and "<name> <path>", then who served it, so a
// request through Traefik shows which application and path it reached.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"
)

func main() {
	port := flag.Int("port", 80, "port to listen on")
	name := flag.String("name", "demoapp", "name put in every answer")
	flag.Parse()

	host, _ := os.Hostname()
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "%s %s\nHostname: %s\nHost: %s\n", *name, r.URL.Path, host, r.Host)
	})
	srv := &http.Server{
		Addr:              fmt.Sprintf(":%d", *port),
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
	}
	log.Printf("demoapp %q listening on %s", *name, srv.Addr)
	log.Fatal(srv.ListenAndServe())
}
