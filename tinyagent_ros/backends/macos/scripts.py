"""The AppleScript programs, one per tool: fixed text that reads every value from ``argv``.

Nothing is ever formatted into these strings. ``osascript -`` reads the program
from standard input and hands the remaining command-line arguments to
``on run argv`` as a list of text, so a value can only ever be data. Lists
travel as their item count followed by the items (``takeList``); integers and
booleans as text parsed here; dates as ``YYYY-MM-DD HH:MM:SS``, checked in
Python first (``isoDate``). The first line tags the tool, which shows in logs.
No program sends, deletes or runs shell commands: Mail opens drafts.
"""

from __future__ import annotations

_TAKE_LIST = """
on takeList(argv, i)
	-- a list travels as its item count, then its items; returns {items, next index}
	set n to (item i of argv) as integer
	set xs to {}
	repeat with k from 1 to n
		set end of xs to item (i + k) of argv
	end repeat
	return {xs, i + n + 1}
end takeList
"""

_ISO_DATE = """
on isoDate(s)
	-- s is "YYYY-MM-DD HH:MM:SS" (checked before osascript runs); no locale-dependent parsing
	set d to current date
	set day of d to 1
	set year of d to (text 1 thru 4 of s) as integer
	set month of d to (text 6 thru 7 of s) as integer
	set day of d to (text 9 thru 10 of s) as integer
	set hh to (text 12 thru 13 of s) as integer
	set mm to (text 15 thru 16 of s) as integer
	set ss to (text 18 thru 19 of s) as integer
	set time of d to hh * 3600 + mm * 60 + ss
	return d
end isoDate
"""

_HTML_TEXT = """
on replaceText(s, a, b)
	set saved to AppleScript's text item delimiters
	set AppleScript's text item delimiters to a
	set parts to text items of s
	set AppleScript's text item delimiters to b
	set s to parts as text
	set AppleScript's text item delimiters to saved
	return s
end replaceText

on htmlText(s)
	-- a Notes body is HTML: escape the text so that it shows exactly as typed
	set s to my replaceText(s, "&", "&amp;")
	set s to my replaceText(s, "<", "&lt;")
	set s to my replaceText(s, ">", "&gt;")
	set s to my replaceText(s, linefeed, "<br>")
	return s
end htmlText
"""

_MAIL_PARTS = """
on addAddresses(msg, toList, ccList)
	tell application "Mail"
		repeat with addr in toList
			set props to {address:(contents of addr)}
			tell msg to make new to recipient at end of to recipients with properties props
		end repeat
		repeat with addr in ccList
			set props to {address:(contents of addr)}
			tell msg to make new cc recipient at end of cc recipients with properties props
		end repeat
	end tell
end addAddresses

on addAttachments(msg, paths)
	repeat with p in paths
		set props to {file name:(POSIX file (contents of p))}
		tell application "Mail"
			tell content of msg to make new attachment with properties props at after last paragraph
		end tell
	end repeat
end addAttachments
"""

_FIND_PERSON = """
on findPerson(query)
	if query is "" then error "empty contact name"
	tell application "Contacts"
		set found to every person whose name is query
		if (count of found) is 0 then set found to every person whose name contains query
		if (count of found) is 0 then error "no contact named " & query
		return item 1 of found
	end tell
end findPerson
"""

GET_PHONE_NUMBER = """-- tinyagent: get_phone_number
on run argv
	set p to my findPerson(item 1 of argv)
	tell application "Contacts"
		if (count of phones of p) is 0 then error (name of p) & " has no phone number"
		repeat with ph in phones of p
			if (label of ph as text) contains "mobile" then return value of ph
		end repeat
		return value of item 1 of phones of p
	end tell
end run
""" + _FIND_PERSON

GET_EMAIL_ADDRESS = """-- tinyagent: get_email_address
on run argv
	set p to my findPerson(item 1 of argv)
	tell application "Contacts"
		if (count of emails of p) is 0 then error (name of p) & " has no email address"
		return value of item 1 of emails of p
	end tell
end run
""" + _FIND_PERSON

CREATE_CALENDAR_EVENT = """-- tinyagent: create_calendar_event
on run argv
	set evTitle to item 1 of argv
	set startDate to my isoDate(item 2 of argv)
	set endDate to my isoDate(item 3 of argv)
	set evLocation to item 4 of argv
	set evNotes to item 5 of argv
	set calName to item 6 of argv
	set {invitees, i} to my takeList(argv, 7)
	tell application "Calendar"
		if calName is "" then
			set cal to first calendar whose writable is true
		else
			if not (exists calendar calName) then error "no calendar named " & calName
			set cal to calendar calName
		end if
		set props to {summary:evTitle, start date:startDate, end date:endDate}
		tell cal to set ev to make new event at end of events with properties props
		set location of ev to evLocation
		set description of ev to evNotes
		repeat with addr in invitees
			set props to {email:(contents of addr)}
			tell ev to make new attendee at end of attendees with properties props
		end repeat
		show ev
	end tell
	return "created event: " & evTitle & " at " & (item 2 of argv)
end run
""" + _TAKE_LIST + _ISO_DATE

COMPOSE_NEW_EMAIL = """-- tinyagent: compose_new_email
on run argv
	set subj to item 1 of argv
	set bodyText to item 2 of argv
	set {toList, i} to my takeList(argv, 3)
	set {ccList, i} to my takeList(argv, i)
	set {attachList, i} to my takeList(argv, i)
	tell application "Mail"
		set props to {subject:subj, content:bodyText & return & return, visible:true}
		set msg to make new outgoing message with properties props
	end tell
	my addAddresses(msg, toList, ccList)
	my addAttachments(msg, attachList)
	tell application "Mail" to activate
	return "draft opened in Mail, not sent: " & subj
end run
""" + _TAKE_LIST + _MAIL_PARTS

REPLY_TO_EMAIL = """-- tinyagent: reply_to_email
on run argv
	set bodyText to item 1 of argv
	set {ccList, i} to my takeList(argv, 2)
	set {attachList, i} to my takeList(argv, i)
	tell application "Mail"
		set picked to selection
		if (count of picked) is 0 then error "no email selected in Mail"
		set msg to reply (item 1 of picked) with opening window
		set content of msg to bodyText & return & return & (content of msg)
		set subj to subject of msg
	end tell
	my addAddresses(msg, {}, ccList)
	my addAttachments(msg, attachList)
	tell application "Mail" to activate
	return "reply draft opened in Mail, not sent: " & subj
end run
""" + _TAKE_LIST + _MAIL_PARTS

FORWARD_EMAIL = """-- tinyagent: forward_email
on run argv
	set bodyText to item 1 of argv
	set {toList, i} to my takeList(argv, 2)
	set {ccList, i} to my takeList(argv, i)
	set {attachList, i} to my takeList(argv, i)
	tell application "Mail"
		set picked to selection
		if (count of picked) is 0 then error "no email selected in Mail"
		set msg to forward (item 1 of picked) with opening window
		set content of msg to bodyText & return & return & (content of msg)
		set subj to subject of msg
	end tell
	my addAddresses(msg, toList, ccList)
	my addAttachments(msg, attachList)
	tell application "Mail" to activate
	return "forward draft opened in Mail, not sent: " & subj
end run
""" + _TAKE_LIST + _MAIL_PARTS

CREATE_NOTE = """-- tinyagent: create_note
on run argv
	set noteName to item 1 of argv
	set noteText to item 2 of argv
	set folderName to item 3 of argv
	set noteBody to "<h1>" & my htmlText(noteName) & "</h1>" & my htmlText(noteText)
	tell application "Notes"
		if folderName is "" then
			make new note with properties {body:noteBody}
		else
			if not (exists folder folderName) then make new folder with properties {name:folderName}
			make new note at folder folderName with properties {body:noteBody}
		end if
	end tell
	return "created note: " & noteName
end run
""" + _HTML_TEXT

OPEN_NOTE = """-- tinyagent: open_note
on run argv
	set noteName to item 1 of argv
	set folderName to item 2 of argv
	tell application "Notes"
		if folderName is "" then
			set found to every note whose name is noteName
		else
			if not (exists folder folderName) then error "no Notes folder named " & folderName
			set found to every note of folder folderName whose name is noteName
		end if
		if (count of found) is 0 then error "no note named " & noteName
		set n to item 1 of found
		show n
		return plaintext of n
	end tell
end run
"""

APPEND_NOTE_CONTENT = """-- tinyagent: append_note_content
on run argv
	set noteName to item 1 of argv
	set addition to "<div>" & my htmlText(item 2 of argv) & "</div>"
	set folderName to item 3 of argv
	tell application "Notes"
		if folderName is "" then
			set found to every note whose name is noteName
		else
			if not (exists folder folderName) then error "no Notes folder named " & folderName
			set found to every note of folder folderName whose name is noteName
		end if
		if (count of found) is 0 then error "no note named " & noteName
		set n to item 1 of found
		set body of n to (body of n) & addition
	end tell
	return "appended to note: " & noteName
end run
""" + _HTML_TEXT

CREATE_REMINDER = """-- tinyagent: create_reminder
on run argv
	set remName to item 1 of argv
	set dueText to item 2 of argv
	set remNotes to item 3 of argv
	set listName to item 4 of argv
	set prio to (item 5 of argv) as integer
	set allDay to (item 6 of argv) is "true"
	if dueText is not "" then set dueDate to my isoDate(dueText)
	tell application "Reminders"
		if listName is "" then
			set remList to default list
		else if exists list listName then
			set remList to list listName
		else
			set remList to make new list with properties {name:listName}
		end if
		set props to {name:remName, body:remNotes, priority:prio}
		tell remList to set r to make new reminder with properties props
		if dueText is not "" then
			if allDay then
				set allday due date of r to dueDate
			else
				set due date of r to dueDate
			end if
		end if
	end tell
	return "created reminder: " & remName
end run
""" + _ISO_DATE

#: Tool name -> program; tools missing here run without AppleScript (Spotlight, URLs, pypdf, Zoom).
SCRIPTS: dict[str, str] = {
    "get_phone_number": GET_PHONE_NUMBER,
    "get_email_address": GET_EMAIL_ADDRESS,
    "create_calendar_event": CREATE_CALENDAR_EVENT,
    "compose_new_email": COMPOSE_NEW_EMAIL,
    "reply_to_email": REPLY_TO_EMAIL,
    "forward_email": FORWARD_EMAIL,
    "create_note": CREATE_NOTE,
    "open_note": OPEN_NOTE,
    "append_note_content": APPEND_NOTE_CONTENT,
    "create_reminder": CREATE_REMINDER,
}
