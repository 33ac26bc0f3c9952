package main

import (
	"math"
	"sort"
)

// mean is the arithmetic mean of xs (NaN when there is none).
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
