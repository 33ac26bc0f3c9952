package main

import (
	"bytes"
	"os"
	"sort"
	"time"
)

// tail reads new log lines every 5 ms and records events with the time
// they were seen (Traefik's own timestamps have one-second resolution).
func (o *traefikObs) tail(stop, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			o.poll()
			return
		case <-tick.C:
		}
		o.poll()
	}
}

func (o *traefikObs) poll() {
	o.mu.Lock()
	defer o.mu.Unlock()
	f, err := os.Open(o.logPath)
	if err != nil {
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() <= o.off {
		return
	}
	buf := make([]byte, st.Size()-o.off)
	n, _ := f.ReadAt(buf, o.off)
	buf = buf[:n]
	o.off += int64(n)
	now := time.Now()
	data := append(o.partial, buf...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		o.classify(data[:i], now)
		data = data[i+1:]
	}
	// Only the start of a line is classified, and configuration lines are
	// megabytes long: keep at most the head of an unfinished line.
	if len(data) > 4096 {
		data = data[:4096]
	}
	o.partial = append([]byte(nil), data...)
}

// Log lines that mean Traefik's ZooKeeper session was interrupted (the
// client's own messages, logged by Traefik at debug level) or that its
// provider failed.
var disturbMarks = [][]byte{
	[]byte("session has been expired"),
	[]byte("recv loop terminated"),
	[]byte("failed to connect to"),
	[]byte("Provider error"),
	[]byte("Cannot build the configuration"),
}

func (o *traefikObs) classify(line []byte, now time.Time) {
	head := line
	if len(head) > 400 {
		head = head[:400]
	}
	add := func(kind string) {
		o.events = append(o.events, logEvent{kind: kind, at: now, line: string(head)})
	}
	switch {
	case bytes.HasSuffix(bytes.TrimSpace(line), []byte("> List: "+o.root)) ||
		bytes.Contains(head, []byte(`"message":"List: `+o.root+`"`)):
		o.lists++
		add("list")
	case bytes.Contains(head, []byte("> Configuration received")) ||
		bytes.Contains(line, []byte(`"message":"Configuration received"`)):
		o.configs++
		add("config")
	default:
		for _, m := range disturbMarks {
			if bytes.Contains(head, m) {
				add("disturb")
				o.errs = append(o.errs, string(head))
				return
			}
		}
		// The same with the Redis provider: its listing is a SCAN over
		// several requests, not a snapshot, so a route written meanwhile
		// can be read without its service.
		if bytes.Contains(head, []byte("does not exist")) && bytes.Contains(head, []byte("the service")) ||
			bytes.Contains(head, []byte("router must have either a service or child routers")) {
			o.serviceMissing++
			return
		}
		// The API dashboard's assets are not in Traefik's Go module: this
		// error is logged on every reload and means nothing here.
		if (bytes.Contains(head, []byte(" ERR ")) || bytes.Contains(head, []byte(" WRN ")) ||
			bytes.Contains(head, []byte(`"level":"error"`)) || bytes.Contains(head, []byte(`"level":"warn"`))) &&
			!bytes.Contains(head, []byte("Error appending dashboard")) &&
			!bytes.Contains(head, []byte("can reject some encoded characters")) {
			add("error")
			o.errs = append(o.errs, string(head))
		}
	}
}

// counts returns walks started and configurations received so far.
func (o *traefikObs) counts() (lists, configs int) {
	o.poll()
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lists, o.configs
}

// eventsSince returns the log events seen at or after t.
func (o *traefikObs) eventsSince(t time.Time) []logEvent {
	o.poll()
	o.mu.Lock()
	defer o.mu.Unlock()
	i := sort.Search(len(o.events), func(i int) bool { return !o.events[i].at.Before(t) })
	return append([]logEvent(nil), o.events[i:]...)
}

// lastWalkStart is when the latest "List" was seen (zero if never).
func (o *traefikObs) lastWalkStart() time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	for i := len(o.events) - 1; i >= 0; i-- {
		if o.events[i].kind == "list" {
			return o.events[i].at
		}
	}
	return time.Time{}
}

// disturbedBetween returns the first session or provider trouble Traefik
// logged in [t0, t1], or "".
func (o *traefikObs) disturbedBetween(t0, t1 time.Time) string {
	for _, e := range o.eventsSince(t0) {
		if e.at.After(t1) {
			break
		}
		if e.kind == "disturb" {
			return e.line
		}
	}
	return ""
}

func (o *traefikObs) errorsSoFar() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.errs...)
}
