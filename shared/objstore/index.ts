/**
 * Object-store ("objstore") repositories: one bare repository holding the objects of a fork network,
 * each public member fetched into `refs/virtual/<virtref>/`, members borrowing through alternates.
 * Layout and configuration follow grokmirror 2.x so both tools share objstores. One file per verb
 * (create, join, leave, merge, refresh, remove, adopt-alternates); the lock order every caller follows
 * is in locks.ts. Every verb is safe to interrupt: objects are copied before anything points at them,
 * alternates are written before a member is slimmed, a member leaving takes its objects back before
 * its alternates go, and an objstore is removed only when nothing borrows from it.
 */
export { adoptAlternates, alternatesLines, finishAdoption } from './adopt-alternates.js';
export { createObjstore, removeCreateLeftovers } from './create.js';
export { currentFingerprint, readStoreFingerprint, storeFingerprintFile, writeStoreFingerprint } from './fingerprint.js';
export { assertConnected, borrowFrom, copyMemberIn, joinStore, slimMember, type JoinOptions } from './join.js';
export { linkObjects } from './link-objects.js';
export { isBusy, underLocks, type LockSet, type Locked, type RepoFailure } from './locks.js';
export { leaveStore, makeSelfSufficient, takeBack } from './leave.js';
export { addMember, isMember, objstorePath, readMembers, storeRemotes, syncMarker, trimStaleVirtrefs } from './members.js';
export { mergeStore } from './merge.js';
export { dropLooseCopies, feedObjstore, fetchMember, refreshMember } from './refresh.js';
export { cleanObjstoreDir, dropPreloadRefs, removeStore } from './remove.js';
export { virtrefFor } from './virtref.js';
