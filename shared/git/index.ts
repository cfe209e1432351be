export { Git, type GitOptions, type GitPipe, type GitResult } from './git.js';
export { GitError, splitGitMessage } from './git-error.js';
export { untrusted, ALLOWED_SUBCOMMANDS, type GitArg, type GitCommand } from './command.js';
export { inlineIncludes, lookupConfigSubsections, lookupConfigValue, type ConfigLookup } from './config-file.js';
export { readRefFiles, type FileRef, type FileRefs } from './refs-files.js';
export { mirrorFetch } from './mirror-fetch.js';
export { mirrorClone } from './mirror-clone.js';
