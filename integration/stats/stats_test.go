package stats

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPercentile(t *testing.T) {
	xs := make([]float64, 300)
	for i := range xs {
		xs[i] = float64(300 - i) // 300..1, unsorted
	}
	for _, tc := range []struct {
		p    float64
		want float64
		why  string
	}{
		{50, 150, "the 150th of 300"},
		{99, 297, "nearest rank: the 297th of 300"},
		{100, 300, "the maximum"},
		{0, 1, "the minimum"},
		{-5, 1, "below 0 is the minimum"},
		{0.1, 1, "the first rank"},
	} {
		assert.Equal(t, tc.want, Percentile(xs, tc.p), tc.why)
	}
	assert.Equal(t, 300.0, xs[0], "the input is not sorted in place")
	assert.Equal(t, 0.0, Percentile([]float64(nil), 99))
	assert.Equal(t, 3*time.Millisecond, Percentile([]time.Duration{time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond}, 99))
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 2, 3}, 2.5},
		{[]float64{7}, 7},
		{nil, 0},
	} {
		assert.Equal(t, tc.want, Median(tc.xs), "%v", tc.xs)
	}
	assert.Equal(t, 2*time.Second, Median([]time.Duration{time.Second, 3 * time.Second}))
}
