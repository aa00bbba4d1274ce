#!/bin/bash
# dist_completion: dist/bash-completion/ivshmem-ipm completes each
# program's options (read from its --help) and the values it knows.
#
#   completion.sh SOURCE_DIR BUILD_DIR
# Uses bash-completion's _init_completion and _filedir when the package is
# installed, else minimal stand-ins for them (said on stdout).
SRC=$1 BUILD=$2
PATH=$BUILD/src/server:$BUILD/tools:$BUILD/bench:$PATH
FAILED=0

if [ -r /usr/share/bash-completion/bash_completion ]; then
	. /usr/share/bash-completion/bash_completion
	echo "using /usr/share/bash-completion/bash_completion"
else
	echo "bash-completion is not installed: testing with stand-ins for" \
	     "_init_completion and _filedir"
	# What `_init_completion -s` does for us: cur, prev, words, cword,
	# and --opt=value split into prev=--opt, cur=value.
	_init_completion()
	{
		words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
		cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
		split=false
		if [[ $1 == -s && $cur == --?*=* ]]; then
			prev=${cur%%=*} cur=${cur#*=} split=true
		fi
	}
	_filedir()
	{
		COMPREPLY=($(compgen ${1:+-d} ${1:--f} -- "$cur"))
	}
fi
# compopt works only while readline completes; record what is asked.
compopt() { NOSPACE="$*"; }
. "$SRC/dist/bash-completion/ivshmem-ipm"

# complete WANT... -- WORDS...: the last word is the one being completed.
complete_words()
{
	local want=() w
	while [ "$1" != -- ]; do want+=("$1"); shift; done
	shift
	COMP_WORDS=("$@") COMP_CWORD=$(($# - 1)) COMPREPLY=() NOSPACE=
	COMP_LINE="$*" COMP_POINT=${#COMP_LINE}
	_ivshmem_ipm "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
	local got=" ${COMPREPLY[*]} "
	for w in "${want[@]}"; do
		case $w in
		!*) [[ $got != *" ${w#!} "* ]] ||
			{ echo "FAIL: '$*<TAB>' offers ${w#!}: $got"; FAILED=1; } ;;
		*) [[ $got == *" $w "* ]] ||
			{ echo "FAIL: '$*<TAB>' does not offer $w: $got"; FAILED=1; } ;;
		esac
	done
	echo "'$*<TAB>':$got${NOSPACE:+($NOSPACE)}"
}

complete_words --socket= --socket-mode= --socket-owner= --socket-group= \
	'!--shm=' -- ivshmem-server --so
[ "$NOSPACE" = "-o nospace" ] || { echo "FAIL: no nospace after --opt="; FAILED=1; }
complete_words --max-peers= --max-backlog= -- ivshmem-server --max
complete_words root -- ivshmem-server --socket-group=ro
complete_words root -- ivshmem-server --shm-owner ro
complete_words 4M -- ivshmem-server -l 4
complete_words --dump '!--socket=' -- ivshmem-client --d
complete_words any -- ivshmem-client --wait=a
complete_words mailbox -- ipm-shell -m ma
complete_words doorbell -- ipm-shell --mode=d
complete_words --pci --slots= -- ipm-shell --
complete_words rtt.mailbox.block rtt.mailbox.poll '!rtt.pipe' -- ipm-bench --only rtt.m
complete_words --vm --vm-images --vm-pings -- ipm-bench --vm
[ $FAILED -eq 0 ] && echo "dist_completion: ok"
exit $FAILED
