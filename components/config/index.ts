/**
 * The stack config: its schema (schema.ts, composed of the sections in sections/), the value rules
 * the sections share (rules.ts) and loading (load.ts).
 */
export * from "./load";
export * from "./schema";
export { acmeDirectoryUrl } from "./acme";
export { oauthProviders, type OAuthProvider } from "../identity";
export { dataReserveMiB, logLevels, routeCheckSeconds } from "./sections/hub";
export { diskBytes, type Quota } from "./sections/quota";
export { hubImage, imageEntry, swarmImageKeys } from "./sections/images";
export { defaultSizeName, gpuRequest, type SizeEntry } from "./sections/sizes";
export { concurrentSpawnLimit, maxServers, memoryBytes, spawnerTraitOptions } from "./sections/spawner";
export { kindOf, storageKinds, type StorageKind, type StorageSource } from "./sections/storage-kinds";
