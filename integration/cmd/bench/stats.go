package main

import (
	"math"
	"sort"
)

// percentile is the nearest-rank percentile (p in 0..100) of xs.
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if p <= 0 {
		return s[0]
	}
	rank := int(p/100*float64(len(s)) + 0.999999999)
	if rank < 1 {
		rank = 1
	}
	if rank > len(s) {
		rank = len(s)
	}
	return s[rank-1]
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// slowest returns the indexes of the largest frac of xs (at least one).
func slowest(xs []float64, frac float64) []int {
	if len(xs) == 0 {
		return nil
	}
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return xs[idx[a]] > xs[idx[b]] })
	n := max(1, int(math.Ceil(frac*float64(len(xs)))))
	return idx[:n]
}

// meanAt is the mean of xs at the given indexes (NaN when there is none).
func meanAt(xs []float64, idx []int) float64 {
	if len(idx) == 0 {
		return math.NaN()
	}
	sum := 0.0
	for _, i := range idx {
		if i >= len(xs) {
			return math.NaN()
		}
		sum += xs[i]
	}
	return sum / float64(len(idx))
}
