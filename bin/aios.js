#!/usr/bin/env node
// Runs the TypeScript sources directly: no compile step between a git checkout and a working `aios`.
import { register } from 'tsx/esm/api';
register();
await import('../scripts/cli.ts');
