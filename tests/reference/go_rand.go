// Reference vectors from Go's math/rand: rand.New(rand.NewSource(seed)).
//
// Prints one JSON object:
//
//	{"version": "go1.x",
//	 "words": [{"seed": S, "words": [Int63() ...]}],
//	 "intn":  [{"seed": S, "n": N, "draws": [Intn(N) ...]}],
//	 "int63n": [{"seed": S, "n": N, "draws": [Int63n(N) ...]}]}
//
// Every sequence starts from a fresh source. Run: go run go_rand.go
package main

import (
	"encoding/json"
	"math"
	"math/rand"
	"os"
	"runtime"
)

const nWords = 1000
const nDraws = 300

type words struct {
	Seed  int64   `json:"seed"`
	Words []int64 `json:"words"`
}

type draws struct {
	Seed  int64   `json:"seed"`
	N     int64   `json:"n"`
	Draws []int64 `json:"draws"`
}

func main() {
	seeds := []int64{0, 1, 2, 42, 12345, 89482311, 1<<31 - 2, 1<<31 - 1, 1 << 31, -1, -42,
		1<<40 + 5, math.MaxInt64, math.MinInt64}
	bounds := []int64{1000, 1, 2, 7, 1024, 1<<30 + 1, 1<<31 - 1, 1 << 31, 1<<40 + 3,
		1<<62 + 1, math.MaxInt64}
	out := map[string]any{"version": runtime.Version()}
	var ws []words
	for _, s := range seeds {
		r := rand.New(rand.NewSource(s))
		w := make([]int64, nWords)
		for k := range w {
			w[k] = r.Int63()
		}
		ws = append(ws, words{s, w})
	}
	out["words"] = ws
	for _, name := range []string{"intn", "int63n"} {
		var ds []draws
		for _, s := range seeds {
			for _, n := range bounds {
				r := rand.New(rand.NewSource(s))
				d := make([]int64, nDraws)
				for k := range d {
					if name == "intn" {
						d[k] = int64(r.Intn(int(n)))
					} else {
						d[k] = r.Int63n(n)
					}
				}
				ds = append(ds, draws{s, n, d})
			}
		}
		out[name] = ds
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		panic(err)
	}
}
