#!/usr/bin/env node
import { notImplemented } from '../../shared/cli.js';

notImplemented('grok-origin', 'issue 3');
