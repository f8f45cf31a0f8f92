; Inno Setup 6 script: the Windows installer of NST Desktop.
;
; Build it with `python packaging\build.py --format inno` (which freezes the app into
; packaging\dist\nst-desktop\, writes the generated includes below from
; nst_desktop\app_info.py, and runs ISCC.exe on this file). Output:
; packaging\dist\nst-desktop-<version>-windows-x64-setup.exe
;
; Installs per user by default (no admin rights; the user may choose all users), adds a
; Start-menu shortcut (and optionally a desktop one), registers "Open with NST Desktop" for
; the image types the app opens (without taking over the default program), and uninstalls
; cleanly. Settings in %LOCALAPPDATA%\NST Desktop are kept on uninstall.

#include "..\build\windows\app-info.iss"

[Setup]
AppId={#AppId}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppPublisher}
AppPublisherURL={#AppURL}
AppSupportURL={#AppURL}
AppCopyright={#AppCopyright}
VersionInfoVersion={#AppVersion}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
ChangesAssociations=yes
SetupIconFile=..\build\icons\nst-desktop.ico
UninstallDisplayIcon={app}\{#AppExe}.exe
UninstallDisplayName={#AppName}
OutputDir=..\dist
OutputBaseFilename={#AppExe}-{#AppVersion}-windows-x64-setup
; torch is most of the 1 GB: lzma2 solid compression roughly thirds it (takes a few minutes).
Compression=lzma2
SolidCompression=yes
WizardStyle=modern

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; An update replaces the whole app folder (no stale files of the previous version).
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "..\dist\{#AppExe}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}.exe"; Comment: "Paint a photo in the style of a painting"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}.exe"; Tasks: desktopicon

[Registry]
; A ProgID for "Open with" (the app takes a content and a style image: %1 is the first file).
Root: HKA; Subkey: "Software\Classes\{#ProgId}"; ValueType: string; ValueName: ""; ValueData: "{#AppName} image"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\{#ProgId}\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\{#AppExe}.exe,0"
Root: HKA; Subkey: "Software\Classes\{#ProgId}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}.exe"" ""%1"""
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}.exe"; ValueType: string; ValueName: "FriendlyAppName"; ValueData: "{#AppName}"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Applications\{#AppExe}.exe\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExe}.exe"" ""%1"""
; One OpenWithProgids value and one SupportedTypes value per image extension in app_info.py.
#include "..\build\windows\associations.iss"

[Run]
Filename: "{app}\{#AppExe}.exe"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
