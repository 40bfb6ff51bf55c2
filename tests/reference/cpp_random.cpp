// Reference vectors from the C++ standard library's <random>: std::mt19937 and std::minstd_rand.
//
// std::mt19937(seed) is MT19937 with Matsumoto & Nishimura's init_genrand seeding;
// std::minstd_rand(seed) is x <- 48271 * x mod (2^31 - 1) with x0 = seed mod m (1 if that is 0).
// Prints one JSON object: {"mt19937": [{"seed": S, "words": [...]}, ...], "minstd": [...]}.
// Build: g++ -O2 -std=c++17 -o cpp_random cpp_random.cpp
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

namespace {

constexpr int kMtWords = 2000;  // crosses the 624-word twist boundary three times
constexpr int kMinstdWords = 1000;

template <class Engine>
void emit(const char* name, const std::vector<std::uint64_t>& seeds, int n, bool first) {
    std::printf("%s\"%s\": [", first ? "" : ",\n", name);
    for (std::size_t i = 0; i < seeds.size(); ++i) {
        Engine engine(static_cast<typename Engine::result_type>(seeds[i]));
        std::printf("%s{\"seed\": %llu, \"words\": [", i ? ", " : "",
                    static_cast<unsigned long long>(seeds[i]));
        for (int k = 0; k < n; ++k) {
            std::printf("%s%llu", k ? "," : "", static_cast<unsigned long long>(engine()));
        }
        std::printf("]}");
    }
    std::printf("]");
}

}  // namespace

int main() {
    const std::vector<std::uint64_t> mt_seeds = {0u, 1u, 2u, 42u, 5489u, 2147483648u, 4294967295u};
    const std::vector<std::uint64_t> minstd_seeds = {0u,          1u,          2u,
                                                     48271u,      2147483646u, 2147483647u,
                                                     2147483648u, 4294967295u};
    std::printf("{\n");
    emit<std::mt19937>("mt19937", mt_seeds, kMtWords, true);
    emit<std::minstd_rand>("minstd", minstd_seeds, kMinstdWords, false);
    std::printf("\n}\n");
    return 0;
}
