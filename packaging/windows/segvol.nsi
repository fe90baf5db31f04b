; The Windows installer, built by scripts/package-windows.sh with Debian's
; makensis: makensis -DVERSION=.. -DSRC=folder -DOUT=file.exe segvol.nsi
; Installs the programs with ONNX Runtime beside them into Program Files,
; adds a Start-menu entry and an uninstaller listed in Apps & features.
; Optional, off by default: .nii and .nii.gz open in the viewer (the
; components page, or /ASSOCIATE on a silent install's command line).
; The installer is a 64-bit program, like the programs it installs: Windows
; on x64 runs it natively, and it needs no 32-bit support where it is tested
; (Wine without wine32, on machines that cannot run i386 code).
Target amd64-unicode
!include "MUI2.nsh"
!include "FileFunc.nsh"
!include "LogicLib.nsh"
!include "Sections.nsh"

!define APP "SegVol"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\SegVol"
!define PROGID "SegVol.NIfTI"

Name "${APP} ${VERSION}"
OutFile "${OUT}"
; An upgrade goes where the previous install is: .onInit reads that from
; the registry (and from the 32-bit view, where older 32-bit installers
; wrote it).
InstallDir "$PROGRAMFILES64\${APP}"
RequestExecutionLevel admin
SetCompressor /SOLID lzma

!define MUI_ICON "${SRC}\segvol.ico"
!define MUI_UNICON "${SRC}\segvol.ico"
!define MUI_FINISHPAGE_RUN "$INSTDIR\segvol-viewer.exe"
!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_LICENSE "${SRC}\LICENSES.txt"
!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Section "SegVol" SecMain
  SectionIn RO
  SetShellVarContext all
  SetOutPath "$INSTDIR"
  ; onnxruntime.dll beside the exe: infer/ort looks there first after its settings.
  File "${SRC}\segvol-viewer.exe"
  File "${SRC}\segvol.exe"
  File "${SRC}\onnxruntime.dll"
  File "${SRC}\DirectML.dll"
  File "${SRC}\segvol.ico"
  File "${SRC}\LICENSES.txt"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  CreateDirectory "$SMPROGRAMS\${APP}"
  CreateShortcut "$SMPROGRAMS\${APP}\${APP}.lnk" "$INSTDIR\segvol-viewer.exe" "" "$INSTDIR\segvol.ico"
  CreateShortcut "$SMPROGRAMS\${APP}\Uninstall ${APP}.lnk" "$INSTDIR\uninstall.exe"

  WriteRegStr HKLM "Software\${APP}" "InstallDir" "$INSTDIR"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayName" "${APP}"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINST_KEY}" "Publisher" "SegVol developers"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\segvol.ico"
  WriteRegStr HKLM "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoRepair" 1
SectionEnd

; Windows picks a handler by the last extension only: .nii gets SegVol as
; its default program, while .nii.gz files are .gz to Windows, so SegVol is
; only added to the .gz "Open with" list rather than taking every .gz file.
Section /o "Open .nii and .nii.gz files with SegVol" SecAssoc
  WriteRegStr HKLM "Software\Classes\${PROGID}" "" "NIfTI image"
  WriteRegStr HKLM "Software\Classes\${PROGID}\DefaultIcon" "" "$INSTDIR\segvol.ico"
  WriteRegStr HKLM "Software\Classes\${PROGID}\shell\open\command" "" '"$INSTDIR\segvol-viewer.exe" "%1"'
  WriteRegStr HKLM "Software\Classes\.nii" "" "${PROGID}"
  WriteRegStr HKLM "Software\Classes\.nii\OpenWithProgids" "${PROGID}" ""
  WriteRegStr HKLM "Software\Classes\.gz\OpenWithProgids" "${PROGID}" ""
  ; Explorer re-reads the associations.
  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'
SectionEnd

; The programs are 64-bit, so their registry entries go to the 64-bit view
; (a 64-bit installer's default; said so for the 32-bit lookups below).
Function .onInit
  SetRegView 64
  ; The previous install's folder, unless /D chose another than the default
  ; (NSIS has set $INSTDIR from /D before .onInit runs). Installs made by the
  ; earlier 32-bit installers may have it under Wow6432Node: read there second.
  ${If} $INSTDIR == "$PROGRAMFILES64\${APP}"
    ReadRegStr $R2 HKLM "Software\${APP}" "InstallDir"
    ${If} $R2 == ""
      SetRegView 32
      ReadRegStr $R2 HKLM "Software\${APP}" "InstallDir"
      SetRegView 64
    ${EndIf}
    ${If} $R2 != ""
      StrCpy $INSTDIR $R2
    ${EndIf}
  ${EndIf}
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/ASSOCIATE" $R1
  ${IfNot} ${Errors}
    !insertmacro SelectSection ${SecAssoc}
  ${EndIf}
FunctionEnd

Function un.onInit
  SetRegView 64
FunctionEnd

Section "Uninstall"
  SetShellVarContext all
  Delete "$SMPROGRAMS\${APP}\${APP}.lnk"
  Delete "$SMPROGRAMS\${APP}\Uninstall ${APP}.lnk"
  RMDir "$SMPROGRAMS\${APP}"
  Delete "$INSTDIR\segvol-viewer.exe"
  Delete "$INSTDIR\segvol.exe"
  Delete "$INSTDIR\onnxruntime.dll"
  Delete "$INSTDIR\DirectML.dll"
  Delete "$INSTDIR\segvol.ico"
  Delete "$INSTDIR\LICENSES.txt"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKLM "${UNINST_KEY}"
  DeleteRegKey HKLM "Software\${APP}"
  ; What earlier installers wrote into the 32-bit view, if any.
  SetRegView 32
  DeleteRegKey HKLM "${UNINST_KEY}"
  DeleteRegKey HKLM "Software\${APP}"
  SetRegView 64
  ; The associations, where SegVol made them (another program may own .nii now).
  ReadRegStr $0 HKLM "Software\Classes\.nii" ""
  ${If} $0 == "${PROGID}"
    DeleteRegValue HKLM "Software\Classes\.nii" ""
  ${EndIf}
  DeleteRegValue HKLM "Software\Classes\.nii\OpenWithProgids" "${PROGID}"
  DeleteRegValue HKLM "Software\Classes\.gz\OpenWithProgids" "${PROGID}"
  DeleteRegKey /ifempty HKLM "Software\Classes\.nii\OpenWithProgids"
  DeleteRegKey /ifempty HKLM "Software\Classes\.nii"
  DeleteRegKey /ifempty HKLM "Software\Classes\.gz\OpenWithProgids"
  DeleteRegKey HKLM "Software\Classes\${PROGID}"
  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'
SectionEnd
