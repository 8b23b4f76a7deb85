export { main } from './cli/main.js';
export { PairingServer, type PairingServerOptions } from './pairing/server.js';
export { approveRequest, denyRequest, dispatcherIdentity, PAIRING_CERT_DAYS } from './pairing/decide.js';
export * from './engine/index.js';
export { planScan, DEFAULT_SCAN_TYPES, type ScanRequest, type ScanPlan } from './scans/request.js';
export { hostScan, scanInfoOf, scanJobView, withScanInfo, reachesThreshold, type HostScan, type ScanJobInfo, type ScanJobStatus, type ScanJobView } from './scans/host-scan.js';
