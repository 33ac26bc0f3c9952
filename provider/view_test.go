package provider

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/traefik-zk-sidecar/traefik-zk-sidecar/provider/state"
)

func TestWriterViewCommitted(t *testing.T) {
	tests := []struct {
		name     string
		existing []string
		ids      []string
		changes  []recordChange
		want     []string
	}{
		{"nothing", nil, nil, nil, nil},
		{"a new execution gets a record", nil, []string{"a"}, []recordChange{recordCreated}, []string{"a"}},
		{"an update keeps it", []string{"a"}, []string{"a"}, []recordChange{recordUpdated}, []string{"a"}},
		{"a stop of the last route removes it", []string{"a", "b"}, []string{"a"}, []recordChange{recordDeleted}, []string{"b"}},
		{"an unchanged execution stays", []string{"a"}, []string{"a"}, []recordChange{recordKept}, []string{"a"}},
		{"several in one transaction", []string{"a", "b"}, []string{"a", "c", "b"},
			[]recordChange{recordDeleted, recordCreated, recordUpdated}, []string{"b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := writerView{valid: true, version: 7, meta: state.Meta{Routes: 1}, existing: map[string]struct{}{}}
			for _, id := range tt.existing {
				v.existing[id] = struct{}{}
			}
			changes := make([]executionChange, len(tt.changes))
			for i, c := range tt.changes {
				changes[i].record = c
			}
			meta := state.Meta{Routes: 3, Tombstones: 2}
			v.committed(meta, changes, tt.ids)
			assert.Equal(t, int32(8), v.version, "the transaction set the revision once")
			assert.Equal(t, meta, v.meta)
			assert.True(t, v.valid)
			var got []string
			for id := range v.existing {
				got = append(got, id)
			}
			assert.ElementsMatch(t, tt.want, got)
			for _, id := range tt.want {
				assert.True(t, v.has(id), id)
			}
		})
	}
}

func TestWriterViewZeroIsInvalid(t *testing.T) {
	var v writerView
	assert.False(t, v.valid, "a zero view makes the writer read before planning")
	assert.False(t, v.has("a"))
}
