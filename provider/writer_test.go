package provider

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func reqs(ids ...string) []*request {
	out := make([]*request, len(ids))
	for i, id := range ids {
		out[i] = &request{id: id}
	}
	return out
}

func TestSplitBatch(t *testing.T) {
	tests := []struct {
		name      string
		pending   []string
		wantBatch []int // indexes into pending
		wantRest  []int
	}{
		{"empty", nil, nil, nil},
		{"one", []string{"a"}, []int{0}, nil},
		{"distinct executions", []string{"a", "b", "c"}, []int{0, 1, 2}, nil},
		{"same execution twice", []string{"a", "a"}, []int{0}, []int{1}},
		{"interleaved", []string{"a", "b", "a", "c", "b", "a"}, []int{0, 1, 3}, []int{2, 4, 5}},
		{"a stop after a start of the same execution waits", []string{"42", "43", "42"}, []int{0, 1}, []int{2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pending := reqs(tt.pending...)
			batch, rest := splitBatch(pending)
			pick := func(idx []int) []*request {
				if idx == nil {
					return nil
				}
				out := make([]*request, len(idx))
				for i, j := range idx {
					out[i] = pending[j]
				}
				return out
			}
			// Same pointers, same order.
			assert.Equal(t, pick(tt.wantBatch), batch)
			assert.Equal(t, pick(tt.wantRest), rest)
			for i := range batch {
				for j := range batch {
					if i != j {
						assert.NotEqual(t, batch[i].id, batch[j].id)
					}
				}
			}
		})
	}
}

func TestSplitBatchIdentity(t *testing.T) {
	pending := reqs("a", "a")
	batch, rest := splitBatch(pending)
	assert.Same(t, pending[0], batch[0])
	assert.Same(t, pending[1], rest[0])
}

func TestSplitBatchCap(t *testing.T) {
	ids := make([]string, 0, maxBatch+45)
	for i := 0; i < maxBatch+40; i++ {
		ids = append(ids, fmt.Sprint(i))
	}
	ids = append(ids, "0", "1", "2", "3", "4") // duplicates after the cap
	pending := reqs(ids...)
	batch, rest := splitBatch(pending)
	assert.Len(t, batch, maxBatch)
	assert.Equal(t, pending[:maxBatch], batch)
	assert.Equal(t, pending[maxBatch:], rest, "everything past the cap is deferred in order")
}
