/** Checks run before a form is sent; the server checks again and has the last word. */

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

export type FormErrors<Field extends string> = Partial<Record<Field, string>>;

export function checkEmail(email: string): string | undefined {
  if (email.trim() === '') {
    return 'Enter your email address.';
  }
  if (!/^[^\s@]+@[^\s@]+$/.test(email.trim())) {
    return 'Enter a valid email address, like name@example.com.';
  }
  return undefined;
}

export function checkNewPassword(password: string): string | undefined {
  if (password.length < PASSWORD_MIN_LENGTH) {
    return `Use at least ${PASSWORD_MIN_LENGTH} characters.`;
  }
  if (password.length > PASSWORD_MAX_LENGTH) {
    return `Use at most ${PASSWORD_MAX_LENGTH} characters.`;
  }
  return undefined;
}

export function hasErrors(errors: Record<string, string | undefined>): boolean {
  return Object.values(errors).some(Boolean);
}

/** Moves focus to the first field marked invalid, so keyboard users land on the problem. */
export function focusFirstInvalid(form: HTMLFormElement | null): void {
  form?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus();
}
