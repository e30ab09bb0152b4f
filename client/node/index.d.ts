// TypeScript declarations for @chainverify/client (index.js). The message shapes are
// proto/chainverify/v1/verifier.proto as @grpc/proto-loader returns them here:
// field names as in the .proto (snake_case), enums as their names, 64-bit integers as
// strings, bytes as Buffer, unset message fields as null.
import * as https from 'node:https';
import * as tls from 'node:tls';
import * as grpcJs from '@grpc/grpc-js';

export type Verdict = 'VERDICT_UNSPECIFIED' | 'TRUSTED' | 'REJECTED';

export type Status =
  | 'STATUS_UNSPECIFIED' | 'OK' | 'NO_PATH_TO_TRUSTED_ANCHOR' | 'EXPIRED' | 'NOT_YET_VALID'
  | 'NAME_MISMATCH' | 'REVOKED' | 'REVOCATION_UNKNOWN' | 'PIN_MISMATCH' | 'BAD_SIGNATURE'
  | 'WEAK_ALGORITHM' | 'NAME_CONSTRAINT_VIOLATION' | 'USAGE_NOT_ALLOWED' | 'CHAIN_TOO_LONG'
  | 'MALFORMED_CERTIFICATE' | 'SEARCH_LIMIT_REACHED' | 'POLICY_DENIED' | 'INVALID_CA'
  | 'UNHANDLED_CRITICAL_EXTENSION' | 'CERTIFICATE_POLICY_VIOLATION';

export type Usage = 'USAGE_UNSPECIFIED' | 'SERVER_AUTH' | 'CLIENT_AUTH';

export type CertificateSource = 'CERTIFICATE_SOURCE_UNSPECIFIED' | 'REQUEST' | 'TRUST_STORE';

/** google.protobuf.Timestamp. */
export interface Timestamp {
  seconds: string;
  nanos: number;
}

export interface NameAttribute {
  /** Short name (CN, O, ...) or dotted OID. */
  type: string;
  value: string;
}

export interface SubjectAltName {
  kind: 'KIND_UNSPECIFIED' | 'DNS' | 'IP_ADDRESS' | 'URI' | 'EMAIL' | 'DIRECTORY_NAME' | 'OTHER';
  value: string;
}

export interface CertificateDetails {
  der: Buffer;
  source: CertificateSource;
  /** Index in the uploaded chain; -1 for a trust-store certificate. */
  request_index: number;
  subject: string;
  issuer: string;
  subject_attributes: NameAttribute[];
  issuer_attributes: NameAttribute[];
  serial_number: string;
  version: number;
  not_before: Timestamp | null;
  not_after: Timestamp | null;
  subject_alt_names: SubjectAltName[];
  sha256: string;
  spki_sha256: string;
  ca_issuers_urls: string[];
  ocsp_urls: string[];
  crl_distribution_points: string[];
  is_ca: boolean;
  signature_algorithm: string;
  public_key_algorithm: string;
  public_key_bits: number;
}

export interface CertificateError {
  /** Stable error id (match on this, not on diagnostic). */
  id: string;
  status: Status;
  severity: 'SEVERITY_UNSPECIFIED' | 'ERROR' | 'WARNING';
  chain_index: number;
  request_index: number;
  /** For humans; may change. */
  diagnostic: string;
}

export interface RequestError {
  code: number;
  message: string;
}

export interface RevocationResult {
  chain_index: number;
  state: 'STATE_UNSPECIFIED' | 'GOOD' | 'REVOKED' | 'UNKNOWN';
  source: string;
  detail: string;
}

/** chainverify.v1.VerifyResponse: the verdict. */
export interface VerifyResponse {
  request_id: string;
  verdict: Verdict;
  status: Status;
  /** TRUSTED: the pruned chain, leaf to trust anchor. */
  verified_chain: CertificateDetails[];
  /** REJECTED: the closest chain the service could build. */
  best_attempted_chain: CertificateDetails[];
  /** Uploaded certificates the verified chain did not need. */
  unused_certificate_indices: number[];
  errors: CertificateError[];
  policy_name: string;
  policy_version: string;
  decision_id: string;
  evaluated_at: Timestamp | null;
  request_error: RequestError | null;
  revocation: RevocationResult[];
}

/** How to reach the service and what to ask it, for every entry point. */
export interface VerifyOptions {
  /** host:port of chainverifyd. Default 127.0.0.1:50051. */
  target?: string;
  /** gRPC channel credentials (grpc.credentials.createSsl(...)). Default: plaintext. */
  credentials?: grpcJs.ChannelCredentials;
  /** Policy name; empty or absent: the server's default policy. */
  policy?: string;
  /** Default SERVER_AUTH. */
  usage?: 'SERVER_AUTH' | 'CLIENT_AUTH';
  /** Per-call deadline in milliseconds. Default 10000. */
  deadlineMs?: number;
  labels?: Record<string, string>;
  requestId?: string;
}

export interface VerifyChainOptions extends VerifyOptions {
  /** The name the caller meant to reach (DNS name or IP); absent: no name checked. */
  host?: string;
  /** A stapled OCSP response (DER). */
  stapledOcsp?: Buffer | Uint8Array;
}

/** DER bytes, or an object with .raw (crypto.X509Certificate, getPeerCertificate()). */
export type Der = Buffer | Uint8Array | { raw: Buffer };

/**
 * Resolves with the verdict, TRUSTED or REJECTED; rejects with the gRPC error
 * (err.code a grpc.status value, e.g. 14 UNAVAILABLE) when there is none.
 */
export function verifyChain(ders: Der[], options?: VerifyChainOptions): Promise<VerifyResponse>;

/** A TLS socket that chainverify found TRUSTED. */
export interface VerifiedTLSSocket extends tls.TLSSocket {
  chainverifyVerdict: VerifyResponse;
  chainverifyStapledOcsp: Buffer | null;
}

/** The error a REJECTED verdict raises (the connection is destroyed). */
export interface ChainverifyRejectedError extends Error {
  code: 'CHAINVERIFY_REJECTED';
  verdict: VerifyResponse;
}

export interface ConnectOptions extends VerifyOptions {
  host: string;
  port: number;
  /** SNI; defaults to host when it is a DNS name. */
  servername?: string;
  /** The name verified; defaults to host. */
  peerName?: string;
  tlsOptions?: tls.ConnectionOptions;
}

/** A TLS connection, resolved only when TRUSTED. */
export function connect(options: ConnectOptions): Promise<VerifiedTLSSocket>;

/**
 * Waits for `socket` (tls.connect with rejectUnauthorized: false) to finish its
 * handshake and asks the service; resolves with the TRUSTED verdict, else destroys
 * the socket and rejects.
 */
export function verifyTlsSocket(socket: tls.TLSSocket, peerName: string, options?: VerifyOptions): Promise<VerifyResponse>;

export interface ChainverifyAgentOptions extends https.AgentOptions, VerifyOptions {}

/** An https.Agent whose new connections are verified by chainverify (https.request, axios). */
export class ChainverifyAgent extends https.Agent {
  constructor(options?: ChainverifyAgentOptions);
  readonly chainverifyOptions: VerifyOptions;
}

export interface FetchDispatcherOptions extends VerifyOptions {
  tlsOptions?: tls.ConnectionOptions;
}

/**
 * A dispatcher for the built-in fetch: fetch(url, { dispatcher }). It is an instance
 * of Node's bundled undici Agent; typed `any` so that it fits RequestInit's
 * `dispatcher` without a dependency on undici-types.
 */
export function fetchDispatcher(options?: FetchDispatcherOptions): any;

/** Makes every fetch() in this process verify through chainverify; returns the dispatcher. */
export function setGlobalFetchDispatcher(options?: FetchDispatcherOptions): any;

/** The chain a TLS peer sent, leaf first, as DER. */
export function peerChainDer(socket: tls.TLSSocket): Buffer[];

/** Closes every shared gRPC channel (lets the process exit promptly). */
export function close(): void;

/** @grpc/grpc-js, as this package loads it. */
export const grpc: typeof grpcJs;

/** The loaded chainverify.v1 package (ChainVerifier client constructor, ...). */
export const proto: grpcJs.GrpcObject;
