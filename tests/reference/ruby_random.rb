# Reference vectors from Ruby's Random.new(seed).
#
# Prints one JSON object:
#   {"version": "3.x",
#    "words": [{"seed": S, "words": [rand(2**32) ...]}],   # rand(2**32) returns the raw word
#    "rand":  [{"seed": S, "n": N, "draws": [rand(N) ...]}]}
# Every sequence starts from a fresh Random.new(seed). Seeds include a negative one and two above
# 2^32, to show how rand_init turns a seed into MT19937's key. Run: ruby ruby_random.rb
require "json"

N_WORDS = 1000
N_DRAWS = 300
SEEDS = [0, 1, 2, 42, 12_345, 2**31, 2**32 - 1, -5, 2**32, 2**32 + 7].freeze
BOUNDS = [1000, 1, 2, 6, 1024, 2**31 + 1, 2**32].freeze

out = { "version" => RUBY_VERSION, "words" => [], "rand" => [] }
SEEDS.each do |seed|
  r = Random.new(seed)
  out["words"] << { "seed" => seed, "words" => Array.new(N_WORDS) { r.rand(2**32) } }
end
SEEDS.each do |seed|
  BOUNDS.each do |n|
    r = Random.new(seed)
    out["rand"] << { "seed" => seed, "n" => n, "draws" => Array.new(N_DRAWS) { r.rand(n) } }
  end
end
puts JSON.generate(out)
