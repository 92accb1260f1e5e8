import { afterEach, describe, expect, it, vi } from 'vitest';
import { e2eFirefox } from './gate.js';

describe('e2e Firefox gate', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('hands back the Firefox it finds', () => {
    expect(e2eFirefox({ CONDUCTOR_FX_FIREFOX: process.execPath })).toBe(process.execPath);
  });

  it('says loudly that the suite does not run when Firefox is missing', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(e2eFirefox({ CONDUCTOR_FX_FIREFOX: '/nonexistent/firefox' })).toBeNull();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('Firefox e2e NOT RUN: firefox-esr not found'));
  });

  it('fails instead when CONDUCTOR_FX_REQUIRE_FIREFOX=1', () => {
    expect(() => e2eFirefox({ CONDUCTOR_FX_FIREFOX: '/nonexistent/firefox', CONDUCTOR_FX_REQUIRE_FIREFOX: '1' })).toThrow(/NOT RUN.*REQUIRE_FIREFOX=1 requires it/);
  });
});
