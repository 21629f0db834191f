import fc from 'fast-check';

// A fixed fast-check seed when FC_SEED is set (Stryker runs, replays); otherwise
// fast-check picks one and prints it with any counterexample.
const seedText = process.env.FC_SEED;
if (seedText !== undefined && seedText !== '') {
  fc.configureGlobal({ seed: Number(seedText) });
}
