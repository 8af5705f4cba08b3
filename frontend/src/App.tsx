import { useState } from 'react';
import { createBrowserRouter, Link, RouterProvider, type RouteObject } from 'react-router';

import { ConfirmEmailPage } from './features/auth/ConfirmEmailPage';
import { LoginPage } from './features/auth/LoginPage';
import { RegisterPage } from './features/auth/RegisterPage';
import { HomeRedirect, RequireAuth } from './features/auth/RequireAuth';
import { ResetPasswordPage } from './features/auth/ResetPasswordPage';
import { ResetRequestPage } from './features/auth/ResetRequestPage';
import { DashboardPage } from './features/face/DashboardPage';
import { AuthCard } from './ui/AuthCard';

function NotFoundPage() {
  return (
    <AuthCard title="Page not found" footer={<Link to="/">Go to the start page</Link>}>
      <p>There is no page at this address.</p>
    </AuthCard>
  );
}

export const routes: RouteObject[] = [
  { path: '/', element: <HomeRedirect /> },
  { path: '/login', element: <LoginPage /> },
  { path: '/register', element: <RegisterPage /> },
  { path: '/reset-password', element: <ResetRequestPage /> },
  { path: '/reset-password/:token', element: <ResetPasswordPage /> },
  { path: '/confirm-email/:token', element: <ConfirmEmailPage /> },
  { element: <RequireAuth />, children: [{ path: '/dashboard', element: <DashboardPage /> }] },
  { path: '*', element: <NotFoundPage /> },
];

export function App() {
  const [router] = useState(() => createBrowserRouter(routes));
  return <RouterProvider router={router} />;
}
