#!/usr/bin/env node
import { notImplemented } from '../cli.js';

notImplemented('grok-fsck', 'issue 5');
