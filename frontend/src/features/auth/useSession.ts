import { useSyncExternalStore } from 'react';

import { getSession, subscribeSession, type SessionState } from '../../api/session';

/** The current session; re-renders when someone signs in or out or the session ends. */
export function useSession(): SessionState {
  return useSyncExternalStore(subscribeSession, getSession);
}
