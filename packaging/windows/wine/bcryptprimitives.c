// A stand-in for Windows' bcryptprimitives.dll, for the tests under Wine
// only (scripts/wine-prefix.sh puts it into the test prefix's system32; it
// is never packaged): Debian 12's Wine 8 lacks the DLL, and Go 1.22+ programs
// load its ProcessPrng for their random numbers before main runs. It fills
// the buffer from advapi32's SystemFunction036 (RtlGenRandom), which Wine has.
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

// ProcessPrng is documented to always succeed and return TRUE.
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T size)
{
	// SystemFunction036 takes a ULONG: feed larger requests in pieces.
	while (size > 0) {
		ULONG n = size > 0x40000000 ? 0x40000000 : (ULONG)size;
		if (!SystemFunction036(data, n))
			return FALSE;
		data += n;
		size -= n;
	}
	return TRUE;
}
