// Package stats holds the summary statistics the integration tests, the
// chaos run and the bench print, so that they all compute them alike.
package stats

import "slices"

// Number is what the statistics take: float64 samples or durations.
type Number interface {
	~float64 | ~int64
}

// Percentile is the nearest-rank percentile (p in 0..100) of xs: the
// smallest sample that at least p % of the samples do not exceed. p <= 0
// is the minimum, 100 the maximum; no samples give 0. xs is not changed.
func Percentile[T Number](xs []T, p float64) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if p <= 0 {
		return s[0]
	}
	rank := int(p/100*float64(len(s)) + 0.999999999)
	return s[min(max(rank, 1), len(s))-1]
}

// Median is the middle sample, or the mean of the two middle ones; no
// samples give 0. xs is not changed.
func Median[T Number](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
