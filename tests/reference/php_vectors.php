<?php
/*
 * Reference vectors from PHP's own mt_srand()/mt_rand() (PHP 7.1+ runtime).
 *
 * "mt19937": mt_srand($seed) (the default MT_RAND_MT19937 mode), mt_rand() and mt_rand(min, max).
 * "legacy":  mt_srand($seed, MT_RAND_PHP), which reproduces PHP 5.2.1-7.0's mt_rand: the
 *            twist's loBit(u) typo and the double-scaled range.
 * Every sequence starts from a fresh mt_srand(). mt_rand() returns the tempered word >> 1.
 * Prints one JSON object:
 *   {"version": "...", "<mode>": {"words": [{"seed": S, "words": [...]}, ...],
 *                                 "ranges": [{"seed": S, "min": A, "max": B, "draws": [...]}]}}
 * Run: php php_vectors.php
 */
error_reporting(E_ALL & ~E_DEPRECATED); // MT_RAND_PHP is deprecated from PHP 8.3

const N_WORDS = 1000;
const N_DRAWS = 300;
$seeds = [0, 1, 2, 42, 12345, 2147483648, 4294967295];
$ranges = [
    [0, 99], [1, 6], [1000, 1999], [0, 1], [0, 1023], [5, 5],
    [0, (1 << 30)], [0, 2147483647], [7, 2147483600],
];

$out = ['version' => PHP_VERSION];
foreach (['mt19937' => MT_RAND_MT19937, 'legacy' => MT_RAND_PHP] as $name => $mode) {
    $words = [];
    foreach ($seeds as $seed) {
        mt_srand($seed, $mode);
        $w = [];
        for ($k = 0; $k < N_WORDS; $k++) {
            $w[] = mt_rand();
        }
        $words[] = ['seed' => $seed, 'words' => $w];
    }
    $draws = [];
    foreach ($seeds as $seed) {
        foreach ($ranges as [$lo, $hi]) {
            mt_srand($seed, $mode);
            $d = [];
            for ($k = 0; $k < N_DRAWS; $k++) {
                $d[] = mt_rand($lo, $hi);
            }
            $draws[] = ['seed' => $seed, 'min' => $lo, 'max' => $hi, 'draws' => $d];
        }
    }
    $out[$name] = ['words' => $words, 'ranges' => $draws];
}
echo json_encode($out), "\n";
