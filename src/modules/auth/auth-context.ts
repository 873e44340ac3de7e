/** Who made a client API request; attached to the request by SessionAuthGuard. */
export interface AuthContext {
  userId: string;
  sessionId: string;
  roles: string;
  /** true when authenticated with a personal access token rather than a login session. */
  isAccessToken: boolean;
}

/** Who made a server-to-server request; attached by RemoteClusterAuthGuard. */
export interface RemoteCaller {
  remoteId: string;
}

export interface AuthenticatedRequest {
  auth?: AuthContext;
  remote?: RemoteCaller;
}
