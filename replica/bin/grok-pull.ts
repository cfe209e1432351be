#!/usr/bin/env node
import { notImplemented } from '../../shared/cli.js';

notImplemented('grok-pull', 'issue 4');
