import { Navigate, Outlet, useLocation } from 'react-router';

import { loginPathFor } from './links';
import { useSession } from './useSession';

/**
 * Route guard: renders its pages only when signed in. Others go to the sign-in page, which
 * brings them back here afterwards; someone who just signed out is not sent back.
 */
export function RequireAuth() {
  const session = useSession();
  const location = useLocation();

  if (session.status === 'restoring') {
    return <SessionRestoring />;
  }
  if (session.status === 'signed-out') {
    const target =
      session.ended === 'signed-out'
        ? '/login'
        : loginPathFor(`${location.pathname}${location.search}`);
    return <Navigate to={target} replace />;
  }
  return <Outlet />;
}

export function SessionRestoring() {
  return (
    <main className="auth-page">
      <p role="status" className="muted">
        Loading your session…
      </p>
    </main>
  );
}

/** `/`: the dashboard when signed in, otherwise the sign-in page. */
export function HomeRedirect() {
  const session = useSession();

  if (session.status === 'restoring') {
    return <SessionRestoring />;
  }
  return <Navigate to={session.status === 'signed-in' ? '/dashboard' : '/login'} replace />;
}
