#!/usr/bin/env node
// oclif entry point for `mixture`. Commands are compiled to dist/src/commands (npm install builds them).
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})
