package provider

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/kvschema"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/zkstore"
)

// pack is pure: a batch, the records read and the view give the
// transaction and every answer.
func TestPack(t *testing.T) {
	const version = 6 // the view's: the transaction creates revision 7
	running := testRoute("jupyter0", 8888, key8888, withName("zsc-356285bbd155c04b-3"))
	record := &state.Execution{ID: "42", Routes: []state.Route{running}, Revision: 3}
	newRoute := testRoute("jupyter0", 8888, key8888)
	newNamed := newRoute
	newNamed.Traefik.Name = "zsc-356285bbd155c04b-7"
	start := func(id string, routes ...state.Route) *request { return &request{id: id, desired: routes} }
	stop := func(id string) *request { return &request{id: id, stop: true} }
	none := currentRecord{version: -1}
	has := currentRecord{rec: record, version: 2}

	tests := []struct {
		name      string
		batch     []*request
		current   []currentRecord
		maxBytes  int
		wantOps   func(t *testing.T) []string // nil: not checked op by op
		checkOnly bool
		refused   bool
		answered  int
		changed   []bool
		meta      state.Meta
	}{
		{
			name: "a new execution", batch: []*request{start("42", newRoute)}, current: []currentRecord{none},
			wantOps: func(t *testing.T) []string {
				ops := []string{set(revisionPath, metaJSON(3, 1), version), changeCreate(t, 7, []kvschema.Route{newNamed.Traefik})}
				ops = append(ops, routeCreates(newNamed.Traefik.Name, newNamed.Traefik.Rule, newNamed.Traefik.Backend)...)
				ops = append(ops, create("/traefik-zk-sidecar/executions/42", recordJSON(t, "42", 7, newNamed)))
				return append(ops, kickStrings(7)...)
			},
			answered: 1, changed: []bool{true}, meta: state.Meta{Routes: 3, Tombstones: 1},
		},
		{
			name: "an unchanged start is a check alone", batch: []*request{start("42", newRoute)}, current: []currentRecord{has},
			wantOps:   func(*testing.T) []string { return []string{opString(zkstore.Check(revisionPath, version))} },
			checkOnly: true, answered: 1, changed: []bool{false}, meta: state.Meta{Routes: 2, Tombstones: 1},
		},
		{
			name: "a stop of an execution without routes is a check alone", batch: []*request{stop("9")}, current: []currentRecord{none},
			wantOps:   func(*testing.T) []string { return []string{opString(zkstore.Check(revisionPath, version))} },
			checkOnly: true, answered: 1, changed: []bool{false}, meta: state.Meta{Routes: 2, Tombstones: 1},
		},
		{
			name: "a stop tombstones and deletes the record", batch: []*request{stop("42")}, current: []currentRecord{has},
			wantOps: func(t *testing.T) []string {
				p := "/traefik/http/"
				n := running.Traefik.Name
				ops := []string{
					set(revisionPath, metaJSON(1, 2), version),
					changeCreate(t, 7, nil, n),
					set(p+"routers/"+n+"/rule", "Path(`/`) && !PathPrefix(`/`)", zkstore.AnyVersion),
					set(p+"services/"+n+"/loadBalancer/servers/0/url", "http://127.0.0.1:1", zkstore.AnyVersion),
					create("/traefik-zk-sidecar/tombstones/"+n, tombstoneJSON(t, running.Traefik, 7)),
					del("/traefik-zk-sidecar/executions/42", 2),
				}
				return append(ops, kickStrings(7)...)
			},
			answered: 1, changed: []bool{true}, meta: state.Meta{Routes: 1, Tombstones: 2},
		},
		{
			name: "a change and an unchanged execution share one transaction", batch: []*request{start("42", newRoute), start("43", testRoute("jupyter0", 8888, key8888, func(r *state.Route) { r.ExecutionID = "43" }))},
			current:  []currentRecord{has, none},
			answered: 2, changed: []bool{false, true}, meta: state.Meta{Routes: 3, Tombstones: 1},
		},
		{
			name: "what does not fit waits for the next transaction", batch: []*request{start("41", newRoute), start("43", newRoute)},
			current: []currentRecord{none, none}, maxBytes: 3000,
			answered: 1, changed: []bool{true}, meta: state.Meta{Routes: 3, Tombstones: 1},
		},
		{
			name: "a first execution that can never fit is refused", batch: []*request{start("41", newRoute), stop("9")},
			current: []currentRecord{none, none}, maxBytes: 100,
			refused: true, answered: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := writerView{valid: true, version: version, meta: state.Meta{Routes: 2, Tombstones: 1}, existing: map[string]struct{}{"42": {}}}
			maxBytes := tt.maxBytes
			if maxBytes == 0 {
				maxBytes = DefaultMaxTxnBytes
			}
			txn, err := pack(testLayout, maxBytes, v, tt.batch, tt.current)
			require.NoError(t, err)
			assert.Equal(t, tt.refused, txn.refused)
			assert.Equal(t, tt.checkOnly, txn.checkOnly)
			require.Equal(t, tt.answered, txn.answered)
			require.Len(t, txn.answers, tt.answered)
			if tt.refused {
				assert.ErrorIs(t, txn.answers[0].err, ErrTooLarge)
				assert.Empty(t, txn.ops)
				return
			}
			if tt.wantOps != nil {
				assert.Equal(t, tt.wantOps(t), opStrings(txn.ops))
			}
			for i, want := range tt.changed {
				require.NoError(t, txn.answers[i].err)
				assert.Equal(t, want, txn.answers[i].result.Changed, "request %d", i)
			}
			assert.Equal(t, tt.meta, txn.meta)
			assert.Len(t, txn.ids, tt.answered)
			assert.Len(t, txn.changes, tt.answered)
		})
	}
}
