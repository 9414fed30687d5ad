//go:build race

package studio

// slowdown stretches the browser test's promised reaction times under the
// race detector, which makes loading a flow several times slower: the
// promise (a problem shown within 2 seconds) is kept by the test without
// -race, and a run with -race on a busy machine must not fail for the
// detector's own cost.
const slowdown = 5
