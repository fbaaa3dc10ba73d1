// Run by the build in a Node of its own, started with a fixed --random-seed so that two builds
// write the same bytes: the code cache of aios-init's wrapped bundle.
import { readFileSync, writeFileSync } from 'node:fs';
import { makeCodeCache } from '../../common/code-cache.ts';

const [wrapped, out] = process.argv.slice(2);
if (!wrapped || !out) throw new Error('usage: make-code-cache WRAPPED_BUNDLE OUTPUT');
writeFileSync(out, makeCodeCache(readFileSync(wrapped, 'utf8')));
