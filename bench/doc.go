// Package bench holds k2d's footprint checks: the dependency rules of the server binary, and
// (see bench/README.md) the benchmarks, the load scenario and the memory budgets.
package bench
