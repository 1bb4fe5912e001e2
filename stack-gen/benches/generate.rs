//! Time to generate and render each reference flag combination (`cargo bench -p stack-gen`).
//! Prints one human line and one `stack-gen\t...` line (for `tests/bench`) per combination.

use std::hint::black_box;
use std::time::{Duration, Instant};

const ROUNDS: usize = 200;

fn main() {
    let combinations = stack_gen::reference_combinations();
    println!("stack-gen: generate + render, {ROUNDS} rounds per combination");
    let mut all = Duration::ZERO;
    for (name, options) in &combinations {
        // One untimed round: the template's size, and a warm cache.
        let template = stack_gen::generate(options).expect("reference combination is valid");
        let text = template.render();
        let resources = template.resources().len();
        let mut times = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let started = Instant::now();
            let rendered = stack_gen::generate(black_box(options))
                .expect("valid")
                .render();
            times.push(started.elapsed());
            black_box(rendered);
        }
        times.sort();
        let median = times[ROUNDS / 2];
        all += median;
        println!(
            "{name:<22} {resources:>4} resources {:>7} bytes  median {:>8.1} µs  (min {:.1}, max {:.1})",
            text.len(),
            us(median),
            us(times[0]),
            us(times[ROUNDS - 1])
        );
        println!(
            "stack-gen\t{name}\t{resources}\t{}\t{:.1}\t{:.1}\t{:.1}",
            text.len(),
            us(median),
            us(times[0]),
            us(times[ROUNDS - 1])
        );
    }
    println!(
        "all {} combinations: {:.2} ms (sum of medians)",
        combinations.len(),
        all.as_secs_f64() * 1000.0
    );
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
