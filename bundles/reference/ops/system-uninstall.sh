#!/bin/bash
# onsite uninstall, last on each node: what is left of the install after its
# components' steps, driven by what the install recorded here
# (/var/lib/onsite/state): every file onsite wrote (a file that was there
# before goes back if its package stays), the packages the install added
# (purged; those the node had before stay), the users and groups those
# packages created, the line onsite added to PostgreSQL's createcluster.conf,
# onsite's folders. With --keep-data the data folders and the users owning
# them stay: they are moved aside while the packages are purged (the purge
# of etcd-server and redis-tools deletes them) and their users are made
# again with the same ids if a purge deleted them.
set -euo pipefail
. lib/onsite.sh
. lib/uninstall.sh
. lib/packages.sh
state=$STATE_DIR
mkdir -p "$state"
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

# -- files onsite wrote, and onsite's folders
if [ -f "$state/written" ]; then
    while IFS= read -r f; do
        if [ -n "$f" ] && { [ -e "$f" ] || [ -L "$f" ]; }; then rm -f -- "$f" && echo "removed $f"; fi
    done < "$state/written"
fi
remove_files /opt/onsite /etc/onsite /usr/local/lib/onsite /var/log/onsite /run/onsite /var/lib/onsite/apt

# -- the packages the install added
if [ ! -f "$state/packages.purge" ]; then
    if [ -f "$state/packages" ]; then
        cp "$state/packages" "$state/packages.purge.tmp"
    elif [ -f "$state/packages.before" ]; then  # the install stopped while apt ran
        installed_packages | comm -13 "$state/packages.before" - > "$state/packages.purge.tmp"
    else
        : > "$state/packages.purge.tmp"  # the packages step never ran here
    fi
    mv "$state/packages.purge.tmp" "$state/packages.purge"
fi
mapfile -t purge < <(installed_packages | comm -12 "$state/packages.purge" -)
kept_dir=$state/kept
# install_made users|groups NAME: did the install make it? (its record as it
# made them; a node installed by an older onsite: not there before)
install_made() {
    if [ -f "$state/$1.created" ]; then
        grep -qxF -- "$2" "$state/$1.created"
    elif [ -f "$state/$1.before" ]; then
        if grep -qxF -- "$2" "$state/$1.before"; then return 1; fi
    else
        return 1
    fi
}
if keep_data; then
    mkdir -p "$kept_dir"
    # a resumed run finds the data set aside already: the owners recorded then stay
    if [ -z "$(ls -A "$kept_dir")" ]; then : > "$state/kept-owners"; fi
    touch "$state/kept-owners"
    for d in "${DATA_DIRS[@]}"; do
        [ -d "$d" ] || continue
        u=$(stat -c %U "$d") g=$(stat -c %G "$d")
        { getent passwd "$u" || true; } >> "$state/kept-owners"
        # owners the install created are named in the data, so that the next
        # install's record does not count them as the node's own
        : > "$d/.onsite-created-owner"
        if install_made users "$u"; then echo "user $u" >> "$d/.onsite-created-owner"; fi
        if install_made groups "$g"; then echo "group $g" >> "$d/.onsite-created-owner"; fi
        mv -- "$d" "$kept_dir/$(printf '%s' "$d" | tr '/' '%')"
        echo "$d set aside while the packages are purged"
    done
fi
if [ "${#purge[@]}" -gt 0 ]; then
    if [ ! -e /usr/sbin/policy-rc.d ]; then  # no service starts or stops through the packages' scripts
        printf '#!/bin/sh\n# onsite: no service starts while packages are removed\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    dpkg --configure -a || true
    apt-get -q -y -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=/nonexistent \
        -o APT::Get::AutomaticRemove=0 purge "${purge[@]}"
    echo "purged ${#purge[@]} packages the install added: ${purge[*]}"
else
    echo "no package of the install is installed here"
fi
# configuration left of packages the install added and removed before
mapfile -t rc < <(dpkg-query -W -f '${db:Status-Status} ${Package}\n' | awk '$1 == "config-files" {print $2}' | sort -u |
                  comm -12 "$state/packages.purge" -)
if [ "${#rc[@]}" -gt 0 ]; then dpkg --purge "${rc[@]}"; fi
if [ -d "$kept_dir" ]; then
    for k in "$kept_dir"/*; do
        [ -e "$k" ] || continue
        d=$(basename "$k" | tr '%' '/')
        mkdir -p "$(dirname "$d")"
        mv -- "$k" "$d"
        echo "kept $d (--keep-data)"
    done
    rmdir "$kept_dir"
    while IFS=: read -r name _ uid gid _ home shell; do  # owners the purge deleted come back with their ids
        if ! getent passwd "$name" > /dev/null; then
            getent group "$gid" > /dev/null || groupadd -r -g "$gid" "$name"
            useradd -r -M -u "$uid" -g "$gid" -d "$home" -s "$shell" "$name"
            echo "user $name made again (uid $uid) for the kept data"
        fi
    done < "$state/kept-owners"
fi

# -- files that were there before onsite wrote them, where their package stays
if [ -f "$state/written" ]; then
    while IFS= read -r f; do
        o="$state/orig/$(printf '%s' "$f" | tr '/' '%')"
        if [ -n "$f" ] && [ -f "$o" ] && dpkg-query -S "$f" > /dev/null 2>&1; then
            mkdir -p "$(dirname "$f")" && cp -p -- "$o" "$f" && echo "put back $f as it was before the install"
        fi
    done < "$state/written"
fi

# -- folders left empty where onsite wrote files, and the snake-oil
# certificate a package made during the install (none was there before)
if [ -f "$state/written" ]; then
    while IFS= read -r f; do
        d=$(dirname "$f")
        for _ in 1 2 3; do
            case $d in /|/etc|/usr|/usr/local|/var|/var/lib|/opt|/run) break ;; esac
            rmdir -- "$d" 2> /dev/null || break
            echo "removed the empty folder $d"
            d=$(dirname "$d")
        done
    done < "$state/written"
fi
if [ -f "$state/snakeoil.none" ] && [ -f /etc/ssl/certs/ssl-cert-snakeoil.pem ]; then
    find /etc/ssl/certs -maxdepth 1 -lname '*ssl-cert-snakeoil.pem' -delete
    rm -f /etc/ssl/certs/ssl-cert-snakeoil.pem /etc/ssl/private/ssl-cert-snakeoil.key
    echo "removed the snake-oil certificate the install's packages made"
fi
if [ -s "$state/packages.removed" ]; then
    echo "note: the install's apt removed packages this node had before (a conflict with the bundle's newer" \
         "libraries); put them back from the customer's package source if needed:" \
         "apt-get install $(tr '\n' ' ' < "$state/packages.removed")" >&2
fi

# -- users and groups the install's packages created
keep_users=()
if keep_data && [ -f "$state/kept-owners" ]; then mapfile -t keep_users < <(cut -d: -f1 "$state/kept-owners"); fi
kept() { local u; for u in "${keep_users[@]}"; do [ "$u" = "$1" ] && return 0; done; return 1; }
# Only those the install made (install_made): one the customer added since
# is not the install's.
made() {  # made passwd users | made group groups: the install's that exist now
    local n
    for n in $(getent "$1" | cut -d: -f1); do
        if install_made "$2" "$n"; then echo "$n"; fi
    done
}
for u in $(made passwd users); do
    if kept "$u"; then echo "kept user $u (owns kept data)"; continue; fi
    pkill -KILL -u "$u" 2>/dev/null || true
    userdel "$u" && echo "removed user $u"
done
for g in $(made group groups); do
    if kept "$g" || [ -n "$(getent passwd | awk -F: -v g="$(getent group "$g" | cut -d: -f3)" '$4 == g')" ]; then continue; fi
    groupdel "$g" && echo "removed group $g"
done

# -- PostgreSQL's createcluster.conf as it was
if [ -f "$state/createcluster-line" ]; then
    f=/etc/postgresql-common/createcluster.conf
    if [ -f "$f" ]; then sed -i '/^create_main_cluster = false$/d' "$f"; fi
    rm -f "$state/createcluster-line"
fi
touch "$state/system-uninstalled"
echo "nothing of the install is left here but onsite's own folder (the installer removes it last)"
